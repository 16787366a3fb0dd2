/**
 * Registers tempojob's search attributes on $TEMPORAL_ADDRESS / $TEMPORAL_NAMESPACE (the
 * app's own ensureSearchAttributes), then waits until the namespace answers with all of
 * them, so the first workflow start after this never meets an unknown attribute.
 */
import { loadConfig } from '../../src/config.js';
import { connectClient, ensureSearchAttributes, targetOf } from '../../src/temporal/connection.js';
import { ALL_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes.js';

const config = loadConfig();
const client = await connectClient(targetOf(config));
const names = ALL_SEARCH_ATTRIBUTES.map((key) => key.name);
const deadline = Date.now() + 60_000;
for (;;) {
  try {
    await ensureSearchAttributes(client);
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: config.TEMPORAL_NAMESPACE });
    const missing = names.filter((name) => !customAttributes?.[name]);
    if (missing.length === 0) break;
    throw new Error(`not yet visible: ${missing.join(', ')}`);
  } catch (err) {
    // A namespace created a moment ago reaches every frontend within its cache refresh (2 s).
    if (Date.now() > deadline) throw err;
    await new Promise((r) => setTimeout(r, 500));
  }
}
// Frontends refresh their namespace cache every 2 s (system.namespaceCacheRefreshInterval).
await new Promise((r) => setTimeout(r, 2_500));
console.log(`search attributes registered: ${names.join(', ')}`);
await client.connection.close();
