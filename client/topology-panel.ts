/**
 * "Show Topology": a webview with the PCI tree of each machine of a `.iommu` file, IOMMU groups
 * as coloured regions (client/views/topology-svg.ts). It follows the active `.iommu` file and
 * redraws when the server has simulated it again; clicking a device opens it in the source.
 */

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { TopologyRequest, type Range, type TopologyParams, type TopologyResult } from '../language/protocol/messages.js';
import type { ActiveIommuDocument } from './groups-view.js';
import type { IommuClient } from './language-client.js';
import { revealRange } from './tree.js';
import { escapeXml, topologyBody, topologyDocument } from './views/topology-svg.js';

const VIEW_TYPE = 'iommu.topology';

type FromWebview = { readonly type: 'reveal'; readonly range: Range } | { readonly type: 'ready' };

export class TopologyPanel implements vscode.Disposable {
    private panel: vscode.WebviewPanel | undefined;
    private uri: vscode.Uri | undefined;
    private pending: ReturnType<typeof setTimeout> | undefined;
    private lastBody: string | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(private readonly context: vscode.ExtensionContext, private readonly client: IommuClient, private readonly active: ActiveIommuDocument) {
        this.disposables.push(
            active.onDidChange((doc) => {
                if (this.panel && doc) {
                    this.uri = doc.uri;
                    this.schedule(0);
                }
            }),
            client.onDidSimulate((p) => {
                if (this.panel && p.uri === this.uri?.toString()) {
                    this.schedule(50);
                }
            }),
            // a fallback for servers that do not send iommu/documentSimulated
            vscode.workspace.onDidChangeTextDocument((e) => {
                if (this.panel && e.document.uri.toString() === this.uri?.toString()) {
                    this.schedule(800);
                }
            }),
        );
    }

    /** Opens (or reveals) the panel for the active `.iommu` file. */
    async show(): Promise<void> {
        const doc = this.active.document;
        if (!doc) {
            void vscode.window.showInformationMessage('Open a .iommu file with a machine to see its topology.');
            return;
        }
        this.uri = doc.uri;
        if (this.panel) {
            this.panel.reveal(vscode.ViewColumn.Beside, true);
        } else {
            this.panel = this.createPanel();
        }
        await this.render();
    }

    private createPanel(): vscode.WebviewPanel {
        const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
        const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'IOMMU Topology', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
            enableScripts: true,
            localResourceRoots: [media],
            retainContextWhenHidden: false,
        });
        panel.iconPath = vscode.Uri.joinPath(media, 'iommu-file.svg');
        panel.onDidDispose(() => {
            this.panel = undefined;
            clearTimeout(this.pending);
        }, undefined, this.disposables);
        panel.onDidChangeViewState((e) => {
            if (e.webviewPanel.visible) {
                this.schedule(0);
            }
        }, undefined, this.disposables);
        panel.webview.onDidReceiveMessage((m: FromWebview) => {
            if (m.type === 'reveal' && this.uri) {
                void revealRange(this.uri.toString(), m.range);
            } else if (m.type === 'ready' && this.lastBody !== undefined) {
                // the webview (re)loaded, e.g. after being hidden: give it the latest picture
                void panel.webview.postMessage({ type: 'update', body: this.lastBody });
            }
        }, undefined, this.disposables);
        return panel;
    }

    private schedule(delay: number): void {
        clearTimeout(this.pending);
        this.pending = setTimeout(() => void this.render(), delay);
    }

    private async render(): Promise<void> {
        const panel = this.panel;
        const uri = this.uri;
        if (!panel || !uri || !panel.visible) {
            return;
        }
        let body: string;
        try {
            const result = await this.client.request<TopologyParams, TopologyResult>(TopologyRequest, { uri: uri.toString() });
            body = topologyBody(result);
        } catch (e) {
            body = `<p class="error">Could not get the topology: ${escapeXml(e instanceof Error ? e.message : String(e))}</p>`;
        }
        if (panel !== this.panel) {
            return;
        }
        this.lastBody = body;
        const name = vscode.workspace.asRelativePath(uri);
        panel.title = `Topology: ${name.slice(name.lastIndexOf('/') + 1)}`;
        if (panel.webview.html === '') {
            const webview = panel.webview;
            const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
            panel.webview.html = topologyDocument({
                body,
                cspSource: webview.cspSource,
                nonce: randomBytes(16).toString('base64'),
                styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'topology.css')).toString(),
                scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'topology.js')).toString(),
                title: panel.title,
            });
        } else {
            // update in place: keeps the scroll position and avoids a reload
            void panel.webview.postMessage({ type: 'update', body });
        }
    }

    dispose(): void {
        clearTimeout(this.pending);
        this.panel?.dispose();
        vscode.Disposable.from(...this.disposables).dispose();
    }
}
