/**
 * The extension's settings and what the language server receives of them. The server gets them
 * twice: as `initializationOptions` when it starts, and as `workspace/didChangeConfiguration`
 * (section `iommu`) whenever they change.
 */

/** The settings this extension contributes (package.json `contributes.configuration`). */
export interface IommuSettings {
    readonly trace: { readonly server: 'off' | 'messages' | 'verbose' };
    readonly kernel: { readonly default: string };
    readonly inlayHints: { readonly enabled: boolean };
}

/** `initializationOptions` of the language server's `initialize` request. */
export type { IommuInitializationOptions } from '../../language/protocol/messages.js';
import type { IommuInitializationOptions } from '../../language/protocol/messages.js';

/** Reads one setting, as `vscode.WorkspaceConfiguration.get` does. */
export type SettingReader = <T>(key: string, fallback: T) => T;

/** The settings, with defaults for anything missing or malformed. */
export function readSettings(get: SettingReader): IommuSettings {
    const trace = get<string>('trace.server', 'off');
    const kernel = get<string>('kernel.default', '').trim();
    return {
        trace: { server: trace === 'messages' || trace === 'verbose' ? trace : 'off' },
        kernel: { default: /^\d+\.\d+$/.test(kernel) ? kernel : '' },
        inlayHints: { enabled: get<boolean>('inlayHints.enabled', true) !== false },
    };
}

/** What the server is told when it starts. */
export function initializationOptions(settings: IommuSettings): IommuInitializationOptions {
    return {
        kernelDefault: settings.kernel.default === '' ? null : settings.kernel.default,
        inlayHints: settings.inlayHints.enabled,
    };
}
