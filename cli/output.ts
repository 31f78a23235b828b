/**
 * What every command shares: where output goes, how errors become exit codes, and how values
 * are shown to people (aligned text) or scripts (one JSON document).
 *
 * Exit codes: 0 done; 1 the execution failed or AWS refused (an error line says what to do);
 * 2 bad input, reported before any AWS call.
 */

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** How `--wait` pauses between polls; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** Where `.local-stack.json` is looked for; defaults to the project root. */
  projectRoot?: string;
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** What a command file gets when it registers: the output, and where its exit code goes. */
export interface CommandContext {
  io: Io;
  exit(code: number): void;
}

/** Bad input: a missing or malformed argument, flag or file. Exit 2, before any AWS call. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem the user can fix that is not bad input (no local stack, a stack without the output). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface OutputOptions {
  json?: boolean;
  debug?: boolean;
}

const CREDENTIAL_HINT =
  'set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign in with `aws sso login`';

/** One line that says what went wrong and what to do about it. */
function errorAdvice(error: unknown): string {
  if (!(error instanceof Error)) return `unexpected failure: ${String(error)}`;
  if (error instanceof UsageError || error instanceof CliError) return error.message;
  const { name, message } = error;
  const code = (error as { code?: string }).code;
  switch (name) {
    case 'CredentialsProviderError':
      return `no AWS credentials found: ${CREDENTIAL_HINT}`;
    case 'ExpiredToken':
    case 'ExpiredTokenException':
    case 'TokenRefreshRequired':
      return `your AWS credentials have expired: refresh them (${CREDENTIAL_HINT})`;
    case 'UnrecognizedClientException':
    case 'InvalidClientTokenId':
    case 'InvalidSignatureException':
    case 'SignatureDoesNotMatch':
      return `AWS does not accept these credentials (${message}): ${CREDENTIAL_HINT}`;
    case 'AccessDeniedException':
    case 'AccessDenied':
      return `access denied: ${message} Ask for the missing permission, or use a role that has it.`;
    case 'StateMachineDoesNotExist':
      return `no such state machine: ${message}. Check --state-machine-arn, --stage and --region.`;
    case 'ExecutionDoesNotExist':
      return `no such execution: ${message}. \`onboarding list\` shows the executions there are.`;
    case 'InvalidArn':
      return `not a valid ARN: ${message}`;
    case 'ThrottlingException':
    case 'Throttling':
      return `AWS is throttling requests (${message}): wait a little and try again.`;
    case 'ValidationError':
      // CloudFormation's answer for a stack that is not there.
      if (/does not exist/.test(message)) {
        return `${message}. Deploy the stage (serverless deploy --stage <stage>) or check --stage and --region.`;
      }
      break;
  }
  if (message === 'Region is missing') return 'no AWS region: pass --region or set AWS_REGION.';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || name === 'TimeoutError') {
    return `cannot reach the Step Functions endpoint (${code ?? name}: ${message}). For the local stack, is \`npm run local\` running?`;
  }
  return `${name}: ${message}`;
}

// What must not reach a terminal from a message that may quote the user's input: line breaks
// (one error, one line) and control, format and bidi characters (escape sequences that recolour
// or rewrite the screen, text that reads backwards).
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/gu;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const MAX_LINE = 400;
const KEEP_HEAD = 240;
const KEEP_TAIL = 120;

/**
 * A message as one printable line: unprintable characters escaped as `\n` or `\u001b`, and an
 * overlong middle (a huge value quoted back) elided, so the start (which flag) and the end
 * (what to do) stay readable.
 */
export function oneLine(text: string): string {
  const escaped = text.replace(UNPRINTABLE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return SHORT_ESCAPES[c] ?? (code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
  // By code point, so that no surrogate pair is cut in half.
  const chars = Array.from(escaped);
  if (chars.length <= MAX_LINE) return escaped;
  const elided = chars.length - KEEP_HEAD - KEEP_TAIL;
  return `${chars.slice(0, KEEP_HEAD).join('')} …[${elided} characters]… ${chars.slice(-KEEP_TAIL).join('')}`;
}

/**
 * Reports an error on stderr as one line and returns the exit code. `--debug` adds the stack of
 * an unexpected error; bad input and the CLI's own errors say all there is in their line.
 */
export function reportError(io: Io, error: unknown, options: OutputOptions = {}): number {
  io.stderr(`onboarding: ${oneLine(errorAdvice(error))}\n`);
  const own = error instanceof UsageError || error instanceof CliError;
  if (options.debug && !own && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return error instanceof UsageError ? EXIT.usage : EXIT.failed;
}

const SECRET_KEY = /^(sealed|temporary)?password$/i;
const MASK = '********';

/**
 * Masks every password-like field, including inside the JSON strings Step Functions uses for
 * state input and output. Executions only ever carry the password as KMS ciphertext, but the
 * CLI shows none of it.
 */
export function maskSecrets<T>(value: T): T {
  return mask(value) as T;
}

function mask(value: unknown, key?: string): unknown {
  if (key !== undefined && SECRET_KEY.test(key)) return MASK;
  if (typeof value === 'string') {
    // State data travels as JSON text (`input`, `output`, a task's `parameters`, ...).
    if (!/^\s*[[{]/.test(value)) return value;
    try {
      const parsed: unknown = JSON.parse(value);
      const masked = JSON.stringify(mask(parsed));
      return masked === JSON.stringify(parsed) ? value : masked;
    } catch {
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((item) => mask(item));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  return value;
}

/** The one JSON document a `--json` command prints (secrets masked). */
export function printJson(io: Io, document: unknown): void {
  io.stdout(`${JSON.stringify(maskSecrets(document), null, 2)}\n`);
}

/** Parses a JSON string from Step Functions (state or execution data) for display, secrets masked. */
export function parseData(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return maskSecrets(JSON.parse(text));
  } catch {
    return text;
  }
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (value instanceof Date) return formatTime(value);
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(cellText).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `key  value` lines with the values aligned. */
export function keyValues(pairs: Array<[string, unknown]>, indent = ''): string {
  const shown = pairs.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${indent}${k.padEnd(width)}  ${cellText(mask(v, k))}\n`).join('');
}

/** A table with a header row and columns padded to their widest cell. */
export function table(headers: string[], rows: unknown[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(cellText))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : (cell ?? '').padEnd(widths[i] ?? 0))).join('  '))
    .join('\n')
    .concat('\n');
}

/** An execution's output (or any state data) as aligned lines: top-level fields, secrets masked. */
export function dataLines(data: unknown, indent = '  '): string {
  if (data && typeof data === 'object' && !Array.isArray(data)) return keyValues(Object.entries(data), indent);
  return `${indent}${cellText(maskSecrets(data))}\n`;
}

/** 2025-01-31 09:15:02 (UTC): readable and unambiguous in a terminal. */
export function formatTime(date: Date | undefined): string {
  if (!date) return '-';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}
