/**
 * The language client: starts the bundled language server in its own process (IPC), passes the
 * settings, and gives the rest of the extension typed requests and the server's notifications.
 */

import * as vscode from 'vscode';
import { LanguageClient, State, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { DocumentSimulatedNotification, type DocumentSimulatedParams } from '../language/protocol/messages.js';
import { initializationOptions, readSettings } from './views/settings.js';
import { isServerRunDebugLens } from './views/scenario-lenses.js';
import type { ServerState } from './views/status-model.js';

export const IOMMU_SELECTOR: vscode.DocumentSelector = [{ language: 'iommu' }];

export class IommuClient implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private ready: Promise<LanguageClient> | undefined;
    private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
    private readonly simulatedEmitter = new vscode.EventEmitter<DocumentSimulatedParams>();
    private currentState: ServerState = 'stopped';

    /** The server's state changed (starting, running, stopped, failed). */
    readonly onDidChangeState = this.stateEmitter.event;
    /** The server has (re)simulated a document. */
    readonly onDidSimulate = this.simulatedEmitter.event;
    /** The server's log and, with `iommu.trace.server`, the protocol trace. */
    readonly output = vscode.window.createOutputChannel('IOMMU Scenarios Language Server', { log: true });

    constructor(private readonly context: vscode.ExtensionContext) {}

    get state(): ServerState {
        return this.currentState;
    }

    /** Starts the server (once); later calls wait for the same start. */
    start(): Promise<LanguageClient> {
        this.ready ??= this.create().catch((e: unknown) => {
            this.setState('failed');
            this.output.error(`The language server failed to start: ${e instanceof Error ? e.message : String(e)}`);
            this.ready = undefined;
            throw e;
        });
        return this.ready;
    }

    /** Stops the server and starts a new one (which reads the settings afresh). */
    async restart(): Promise<void> {
        await this.stop();
        await this.start();
    }

    async stop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        this.ready = undefined;
        if (client) {
            try {
                await client.stop(2000);
            } catch {
                // a server that failed to start cannot be stopped; it is gone either way
            }
            await client.dispose().catch(() => undefined);
        }
        this.setState('stopped');
    }

    /** A request to the server, once it runs. */
    async request<P, R>(method: string, params: P, token?: vscode.CancellationToken): Promise<R> {
        const client = await this.start();
        return token ? client.sendRequest<R>(method, params, token) : client.sendRequest<R>(method, params);
    }

    dispose(): void {
        void this.stop();
        this.stateEmitter.dispose();
        this.simulatedEmitter.dispose();
        this.output.dispose();
    }

    private setState(state: ServerState): void {
        if (state !== this.currentState) {
            this.currentState = state;
            this.stateEmitter.fire(state);
        }
    }

    private async create(): Promise<LanguageClient> {
        const module = this.context.asAbsolutePath('out/server/language-server.cjs');
        const server: ServerOptions = {
            run: { module, transport: TransportKind.ipc },
            debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
        };
        const settings = (uri?: vscode.Uri) => readSettings((key, fallback) => vscode.workspace.getConfiguration('iommu', uri).get(key, fallback));
        const options: LanguageClientOptions = {
            documentSelector: IOMMU_SELECTOR as LanguageClientOptions['documentSelector'],
            outputChannel: this.output,
            initializationOptions: () => initializationOptions(settings()),
            // `workspace/didChangeConfiguration` with the `iommu` section whenever a setting changes
            synchronize: { configurationSection: 'iommu' },
            middleware: {
                // the setting switches hints off in the client, whatever the server does
                provideInlayHints: (document, range, token, next) => settings(document.uri).inlayHints.enabled ? next(document, range, token) : [],
                // Run | Debug lenses come from the client (client/code-lens.ts); drop duplicates the server may add
                provideCodeLenses: async (document, token, next) => {
                    const lenses = await next(document, token);
                    return lenses?.filter((l) => !isServerRunDebugLens(l.command?.title, l.command?.command));
                },
            },
        };
        const start = initializationOptions(settings());
        this.output.info(`Starting the language server (default kernel: ${start.kernelDefault ?? 'newest'}, inlay hints: ${start.inlayHints ? 'on' : 'off'})`);
        const client = new LanguageClient('iommu', 'IOMMU Scenarios Language Server', server, options);
        this.client = client;
        client.onDidChangeState((e) => {
            if (this.client === client) {
                this.setState(e.newState === State.Running ? 'running' : e.newState === State.Starting ? 'starting' : e.newState === State.StartFailed ? 'failed' : 'stopped');
            }
        });
        client.onNotification(DocumentSimulatedNotification, (params: DocumentSimulatedParams) => this.simulatedEmitter.fire(params));
        this.setState('starting');
        await client.start();
        this.setState('running');
        return client;
    }
}
