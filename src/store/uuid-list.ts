/**
 * A list of UUIDs bound as one parameter, a JSON array (the driver would spread a bound
 * array into one parameter per element): `"id" in (${UUIDS})` with JSON.stringify(ids).
 */
export const UUIDS = `select jsonb_array_elements_text(?::jsonb)::uuid`;
