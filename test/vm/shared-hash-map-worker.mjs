// Bootstrap for shared-hash-map-worker.ts: worker threads do not inherit vitest's TypeScript loader.
import { register } from 'tsx/esm/api';

register();
await import('./shared-hash-map-worker.ts');
