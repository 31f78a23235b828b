/**
 * The stack's own calls, under `/_local/`: `GET health`, `GET|POST|DELETE faults[/<id>]`,
 * `GET requests?service=&operation=`, `GET mail` (passwords masked) and `POST reset`.
 */
import { InvalidFaultRule, type FaultInjector } from './faults.ts';
import type { DeliveredMail, RecordedRequest } from './request-journal.ts';

export interface AdminTarget {
  health(): Record<string, unknown>;
  faults: FaultInjector;
  requests(filter: { service?: string; operation?: string }): RecordedRequest[];
  mail(): Promise<DeliveredMail[]>;
  reset(): Promise<void>;
}

/** An answer of the admin API: its status and JSON document. */
export interface AdminAnswer {
  status: number;
  value: unknown;
}

function addFaultRules(faults: FaultInjector, body: Buffer): AdminAnswer {
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, value: { error: 'InvalidFaultRule', message: 'Invalid fault rule: the body must be JSON' } };
  }
  const rules = (input as { rules?: unknown })?.rules ?? input;
  try {
    return { status: 201, value: { rules: faults.add(rules) } };
  } catch (error) {
    if (error instanceof InvalidFaultRule) return { status: 400, value: { error: error.name, message: error.message } };
    throw error;
  }
}

function faultsCall(faults: FaultInjector, method: string, id: string | undefined, body: Buffer): AdminAnswer | undefined {
  if (method === 'GET') return { status: 200, value: { rules: faults.list() } };
  if (method === 'DELETE') return { status: 200, value: { removed: faults.clear(id) } };
  if (method === 'POST') return addFaultRules(faults, body);
  return undefined;
}

export async function handleAdmin(method: string, url: URL, body: Buffer, target: AdminTarget): Promise<AdminAnswer> {
  const [, , resource, id] = url.pathname.split('/');
  if (resource === 'health') return { status: 200, value: target.health() };
  const faults = resource === 'faults' ? faultsCall(target.faults, method, id, body) : undefined;
  if (faults) return faults;
  if (resource === 'requests' && method === 'GET') {
    const service = url.searchParams.get('service') ?? undefined;
    const operation = url.searchParams.get('operation') ?? undefined;
    return { status: 200, value: { requests: target.requests({ ...(service && { service }), ...(operation && { operation }) }) } };
  }
  if (resource === 'mail' && method === 'GET') return { status: 200, value: { messages: await target.mail() } };
  if (resource === 'reset' && method === 'POST') {
    await target.reset();
    return { status: 200, value: { reset: true } };
  }
  return { status: 404, value: { error: 'NotFound', message: `No local admin call ${method} ${url.pathname}` } };
}
