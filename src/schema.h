/*
 * schema.h - the store's schema as an ordered list of migrations.
 */
#ifndef RI_SCHEMA_H
#define RI_SCHEMA_H

/* SQL that moves a store from version `from` to from + 1 (0 <= from < current). */
const char *ri_schema_migration(int from);

#endif /* RI_SCHEMA_H */
