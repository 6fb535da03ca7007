/** The service's `pg` Pool (DatabaseModule): the system of record and the mock gateway's schema. */
export const DATABASE_POOL = Symbol('DATABASE_POOL');
