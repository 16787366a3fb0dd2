/** PowerJob's response envelope: ResultDTO, plus `code` as PowerResultDTO carries it. */
export interface Envelope<T> {
  success: boolean;
  data: T | null;
  message: string | null;
  code: string | null;
}

export function ok<T>(data: T): Envelope<T> {
  return { success: true, data, message: null, code: null };
}

export function failure(message: string, code: string | null): Envelope<null> {
  return { success: false, data: null, message, code };
}
