/** The error a Catch puts in state: `Error` is the error name, `Cause` its message (or Lambda's JSON). */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

/** Lambda reports a failure's cause as JSON with `errorMessage`; other sources give plain text. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) return String(parsed.errorMessage);
  } catch {
    // plain text
  }
  return cause;
}
