/**
 * Starts the `.iommu` language server on the transport named on the command line
 * (`--stdio`, `--node-ipc`, `--socket=N`), as the VS Code client and `iommu-scenarios lsp` need.
 */

import { DocumentState } from 'langium';
import { startLanguageServer } from 'langium/lsp';
import { NodeFileSystem } from 'langium/node';
import { ProposedFeatures, createConnection, type Connection } from 'vscode-languageserver/node';
import type { LangiumSharedServices } from 'langium/lsp';
import { createIommuServices } from '../iommu-module.js';
import { registerCustomRequests } from './custom-requests.js';
import type { IommuInitializationOptions } from '../protocol/messages.js';

export function startIommuLanguageServer(): void {
    const connection = createConnection(ProposedFeatures.all);
    const { shared, iommu } = createIommuServices({ connection, ...NodeFileSystem });
    registerCustomRequests(connection, shared, iommu);
    shared.lsp.LanguageServer.onInitialize((params) => {
        // The client's `iommu.kernel.default`: machines without a `kernel` line simulate that uAPI.
        const options = params.initializationOptions as Partial<IommuInitializationOptions> | undefined;
        const m = typeof options?.kernelDefault === 'string' ? /^(\d+)\.(\d+)$/.exec(options.kernelDefault.trim()) : null;
        iommu.simulation.ScenarioSimulator.setDefaultKernel(m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined);
    });
    refreshInlayHints(connection, shared);
    // Everything that shows engine results waits for validation, which runs the engine.
    startLanguageServer(shared, {
        HoverProvider: DocumentState.Validated,
        InlayHintProvider: DocumentState.Validated,
        CodeLensProvider: DocumentState.Validated,
        CodeActionProvider: DocumentState.Validated,
    });
}

/**
 * Asks the client to re-query inlay hints when they changed without an edit of the document
 * shown: the `iommu` settings changed, or a build re-validated documents other than the edited
 * ones (a scenario whose machine lives in the edited file). Only if the client supports it.
 */
function refreshInlayHints(connection: Connection, shared: LangiumSharedServices): void {
    let supported = false;
    shared.lsp.LanguageServer.onInitialize(params => {
        supported = params.capabilities.workspace?.inlayHint?.refreshSupport === true;
    });
    const refresh = () => {
        if (supported) {
            void connection.languages.inlayHint.refresh().catch(() => undefined);
        }
    };
    shared.workspace.ConfigurationProvider.onConfigurationSectionUpdate(update => {
        if (update.section === 'iommu') {
            refresh();
        }
    });
    let changed = new Set<string>();
    shared.workspace.DocumentBuilder.onUpdate((changedUris) => {
        changed = new Set(changedUris.map(uri => uri.toString()));
    });
    shared.workspace.DocumentBuilder.onBuildPhase(DocumentState.Validated, (documents) => {
        if (documents.some(d => !changed.has(d.uri.toString()))) {
            refresh();
        }
    });
}
