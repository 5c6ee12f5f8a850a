// Defaults of the mesh model that every source (the mesh file, Kubernetes) applies the same way.

/** The endpoint label whose values name a service's subsets, unless the service names another. */
export const DEFAULT_SUBSET_LABEL = 'version';
