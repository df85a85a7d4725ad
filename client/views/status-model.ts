/**
 * What the status bar item says about the language server: a pure function of the client's
 * state and the last simulation the server reported, so tests can check it without an editor.
 */

export type ServerState = 'starting' | 'running' | 'stopped' | 'failed';

export interface StatusView {
    /** With a codicon: `$(check) IOMMU`. */
    readonly text: string;
    readonly tooltip: string;
    /** A theme colour id for the item's background, for errors only. */
    readonly background?: 'statusBarItem.errorBackground' | 'statusBarItem.warningBackground';
}

export interface LastSimulation {
    readonly uri: string;
    readonly version?: number;
    readonly at: Date;
}

/** The file name of a URI, for display. */
export function fileName(uri: string): string {
    const path = uri.replace(/[?#].*$/, '');
    return decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
}

export function statusView(state: ServerState, last?: LastSimulation): StatusView {
    switch (state) {
        case 'starting':
            return { text: '$(loading~spin) IOMMU', tooltip: 'IOMMU Scenarios: the language server is starting' };
        case 'stopped':
            return {
                text: '$(circle-slash) IOMMU',
                tooltip: 'IOMMU Scenarios: the language server is stopped. Click to restart it.',
                background: 'statusBarItem.warningBackground',
            };
        case 'failed':
            return {
                text: '$(error) IOMMU',
                tooltip: 'IOMMU Scenarios: the language server failed to start. Click to see its output.',
                background: 'statusBarItem.errorBackground',
            };
        case 'running': {
            const when = last ? `\nLast simulated: ${fileName(last.uri)}${last.version === undefined ? '' : ` (version ${last.version})`} at ${last.at.toLocaleTimeString()}` : '';
            return { text: '$(check) IOMMU', tooltip: `IOMMU Scenarios: the language server is running${when}\nClick for actions.` };
        }
    }
}
