/**
 * moto's server (`python3 -m moto.server`) as a child process on a free loopback port.
 *
 * It is started through a few lines of Python that also watch stdin: when this process goes
 * away for any reason (exit, Ctrl-C, crash, SIGKILL) the pipe closes and moto exits with it,
 * so no emulator outlives the stack that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const LAUNCHER = `
import os, sys, threading
def exit_with_parent():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=exit_with_parent, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
`;

const MOTO_INSTALL_HINT = 'moto is not installed: pip install "moto[server]"';

/** moto (or Python) is missing: the message says how to install it. */
export class MotoNotInstalled extends Error {
  override readonly name = 'MotoNotInstalled';
  constructor(detail: string) {
    super(`${MOTO_INSTALL_HINT} (${detail})`);
  }
}

export interface Moto {
  endpoint: string;
  pid: number;
  /** Resolves once moto has exited. */
  stop(): Promise<void>;
  /** Called if moto dies while the stack still needs it. */
  onUnexpectedExit(listener: (code: number | null) => void): void;
}

export interface MotoOptions {
  /** The Python to run moto with, as a command and its arguments (default: $MOTO_PYTHON, else `python3`). */
  python?: string[];
  startTimeoutMs?: number;
}

export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const [python = 'python3', ...pythonArgs] = options.python ?? (process.env.MOTO_PYTHON?.split(/\s+/).filter(Boolean) || ['python3']);
  const child: ChildProcess = spawn(python, [...pythonArgs, '-c', LAUNCHER, '-H', '127.0.0.1', '-p', '0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // AttachUserPolicy with AWS managed policies (IAMUserChangePassword) needs them loaded.
      MOTO_IAM_LOAD_MANAGED_POLICIES: 'true',
      PYTHONUNBUFFERED: '1',
    },
  });

  let stopping = false;
  let exited = false;
  const exitListeners: Array<(code: number | null) => void> = [];
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      process.removeListener('exit', killOnExit);
      if (!stopping) exitListeners.forEach((listener) => listener(code));
      resolve();
    });
  });
  // A synchronous last resort on normal exit; the stdin watch covers everything else.
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  let output = '';
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`moto did not start within ${options.startTimeoutMs ?? 30_000} ms: ${output.slice(-500)}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new MotoNotInstalled(`${python} not found`) : error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (/No module named '?(moto|flask|werkzeug)/.test(output)) {
        reject(new MotoNotInstalled(/No module named '?[\w.]+'?/.exec(output)?.[0] ?? 'import failed'));
      } else {
        reject(new Error(`moto exited with code ${code} before it was ready: ${output.slice(-500)}`));
      }
    });
  });

  // Keep draining moto's request log so its pipes never fill up; it is not shown.
  child.stdout?.resume();
  child.stderr?.resume();

  return {
    endpoint,
    pid: child.pid as number,
    onUnexpectedExit: (listener) => exitListeners.push(listener),
    stop: async () => {
      if (exited) return;
      stopping = true;
      child.stdin?.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}
