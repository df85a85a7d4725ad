// The language server process (forked by the VS Code client; transport from the command line).
import './polyfills.js';
import { startIommuLanguageServer } from '../language/lsp/start-language-server.js';

startIommuLanguageServer();
