// The name of a client view: every client with the same key shares one snapshot and its bytes.

/** Opaque name of a client view. */
export type ViewKey = string;
