export { createConformanceApp } from './app.js';
export type { ConformanceApp, ConformanceAppOptions } from './app.js';
export { buildConformanceServer, RED_PIXEL_PNG, SHORT_WAV } from './server.js';
export type { ConformanceServerDeps } from './server.js';
