// A problem found while translating one service: reported and skipped, never blocking the rest of the mesh.
export interface TranslationIssue {
  service: string;
  message: string;
}
