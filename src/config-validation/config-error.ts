// An error in a configuration file (the mesh file, the clusters file): where it is and what is wrong,
// printed `FILE:LINE: PATH: MESSAGE`, the form editors and terminals turn into links.

export interface ConfigError {
  /** Where in the document, e.g. `services[0].endpoints[2].cluster`; empty when about the file as a whole. */
  path: string;
  /** 1-based line; absent when the error is about no line (unreadable file, count of unlisted errors). */
  line?: number;
  message: string;
}

/** One line per error. */
export function formatConfigErrors(file: string, errors: readonly ConfigError[]): string {
  return errors.map((error) => formatConfigError(file, error)).join('\n');
}

export function formatConfigError(file: string, error: ConfigError): string {
  const where = error.line === undefined ? file : `${file}:${error.line}`;
  return error.path ? `${where}: ${error.path}: ${error.message}` : `${where}: ${error.message}`;
}
