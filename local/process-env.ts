/**
 * The functions run in this process and read process.env: the stack sets their environment
 * there, and puts back what it changed when it stops.
 */
import { resetConfigCache } from '../functions/lib/config.ts';

export class ProcessEnvironment {
  private readonly saved = new Map<string, string | undefined>();

  private set(name: string, value: string | undefined): void {
    if (!this.saved.has(name)) this.saved.set(name, process.env[name]);
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }

  /**
   * What the functions and their SDK clients see: the stack's endpoint and credentials (no
   * per-service endpoint, profile or session token from the shell), then the stage's variables.
   */
  apply(clientEnv: Record<string, string>, functionEnv: Record<string, string>): void {
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_ENDPOINT_URL_')) this.set(name, undefined);
    for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) this.set(name, undefined);
    for (const [name, value] of Object.entries({ ...clientEnv, ...functionEnv })) this.set(name, value);
    resetConfigCache();
  }

  restore(): void {
    for (const [name, value] of this.saved) this.set(name, value);
    this.saved.clear();
    resetConfigCache();
  }
}
