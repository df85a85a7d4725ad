import { describe, expect, test } from 'vitest';
import { initializationOptions, readSettings, type SettingReader } from '../../client/views/settings.js';
import { fileName, statusView } from '../../client/views/status-model.js';

const reader = (values: Record<string, unknown>): SettingReader => <T>(key: string, fallback: T): T => (key in values ? values[key] as T : fallback);

describe('settings', () => {
    test('defaults, and what the server is told', () => {
        const s = readSettings(reader({}));
        expect(s).toEqual({ trace: { server: 'off' }, kernel: { default: '' }, inlayHints: { enabled: true } });
        expect(initializationOptions(s)).toEqual({ kernelDefault: null, inlayHints: true });
    });

    test('values, with malformed ones falling back', () => {
        expect(initializationOptions(readSettings(reader({ 'kernel.default': ' 6.12 ', 'inlayHints.enabled': false })))).toEqual({ kernelDefault: '6.12', inlayHints: false });
        expect(readSettings(reader({ 'kernel.default': 'latest', 'trace.server': 'loud' }))).toMatchObject({ kernel: { default: '' }, trace: { server: 'off' } });
        expect(readSettings(reader({ 'trace.server': 'verbose' })).trace.server).toBe('verbose');
    });
});

describe('status bar', () => {
    test('each server state', () => {
        expect(statusView('starting').text).toBe('$(loading~spin) IOMMU');
        expect(statusView('failed')).toMatchObject({ text: '$(error) IOMMU', background: 'statusBarItem.errorBackground' });
        expect(statusView('stopped').background).toBe('statusBarItem.warningBackground');
        const running = statusView('running', { uri: 'file:///w/a%20b.iommu', version: 3, at: new Date(0) });
        expect(running.text).toBe('$(check) IOMMU');
        expect(running.tooltip).toMatch(/^IOMMU Scenarios: the language server is running\nLast simulated: a b\.iommu \(version 3\) at /);
        expect(fileName('untitled:Untitled-1')).toBe('untitled:Untitled-1');
    });
});
