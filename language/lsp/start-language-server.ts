/**
 * Starts the `.iommu` language server on the transport named on the command line
 * (`--stdio`, `--node-ipc`, `--socket=N`), as the VS Code client and `iommu-scenarios lsp` need.
 */

import { DocumentState } from 'langium';
import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { createIommuServices } from '../iommu-module.js';
import { registerCustomRequests } from './custom-requests.js';

export function startIommuLanguageServer(): void {
    const connection = createConnection(ProposedFeatures.all);
    const { shared, iommu } = createIommuServices({ connection, ...NodeFileSystem });
    registerCustomRequests(connection, shared, iommu);
    // Everything that shows engine results waits for validation, which runs the engine.
    startLanguageServer(shared, {
        HoverProvider: DocumentState.Validated,
        InlayHintProvider: DocumentState.Validated,
        CodeLensProvider: DocumentState.Validated,
        CodeActionProvider: DocumentState.Validated,
    });
}
