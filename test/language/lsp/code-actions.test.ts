import { describe, expect, test } from 'vitest';
import { testCodeAction } from 'langium/test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { CodeAction, Diagnostic } from 'vscode-languageserver';
import { suggestionsOf } from '../../../language/lsp/iommu-code-action-provider.js';
import { iommu, parseValid } from '../helpers.js';
import { BOX, onBox } from './lsp-fixtures.js';

const fix = testCodeAction(iommu);

/** The quick fixes offered for the diagnostics with `data.code` = `code`. */
async function actionsFor(text: string, code: string): Promise<{ actions: CodeAction[]; apply: (title: RegExp) => string; diagnostics: Diagnostic[] }> {
    const document = await parseValid(text);
    const diagnostics = (document.diagnostics ?? []).filter(d => (d.data as { code?: string } | undefined)?.code === code);
    const actions = (await iommu.lsp.CodeActionProvider!.getCodeActions(document, {
        textDocument: { uri: document.uri.toString() },
        range: diagnostics[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        context: { diagnostics },
    }) ?? []) as CodeAction[];
    const apply = (title: RegExp) => {
        const action = actions.find(a => title.test(a.title));
        if (!action) {
            throw new Error(`no action ${title} among ${actions.map(a => a.title).join(' | ')}`);
        }
        return TextDocument.applyEdits(document.textDocument, action.edit!.changes![document.uri.toString()]!);
    };
    return { actions, apply, diagnostics };
}

describe('misspelled names', () => {
    test('a device: the one suggestion replaces the name', async () => {
        await fix(onBox('        unbind nvme9'), 'unknown-device', onBox('        unbind nvme0'));
    });

    test('one fix per suggestion, the first preferred', async () => {
        const { actions, apply } = await actionsFor(onBox('        unbind nic'), 'unknown-device');
        expect(actions.map(a => a.title)).toEqual(["Change to 'nic0'", "Change to 'nic1'"]);
        expect(actions.map(a => a.isPreferred)).toEqual([true, false]);
        expect(apply(/nic1/)).toBe(onBox('        unbind nic1'));
    });

    test('an ioctl, an errno, a constant, a variable', async () => {
        await fix(onBox('        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_STATU(g)'), 'unknown-ioctl',
            onBox('        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_STATUS(g)'));
        const errno = await actionsFor(onBox('        close(99) expect EBADFF'), 'unknown-errno');
        expect(errno.actions.map(a => a.title)).toEqual(["Change to 'EBADF'", "Change to 'EBADFD'"]);
        expect(errno.apply(/'EBADF'/)).toBe(onBox('        close(99) expect EBADF'));
        await fix(onBox('        let c = open "/dev/vfio/vfio"\n        VFIO_IOMMU_MAP_DMA(c, flags: WRIET) expect EINVAL'), 'unknown-constant',
            onBox('        let c = open "/dev/vfio/vfio"\n        VFIO_IOMMU_MAP_DMA(c, flags: WRITE) expect EINVAL'));
        await fix(onBox('        let container = open "/dev/vfio/vfio"\n        close(contianer)'), 'unknown-variable',
            onBox('        let container = open "/dev/vfio/vfio"\n        close(container)'));
    });

    test('IOMMU kinds and features in a machine', async () => {
        await fix(BOX.replace('intel-vtd', 'intel-vdt'), 'unknown-iommu-kind', BOX);
        await fix(BOX.replace('intr-remap', 'intr-remp'), 'unknown-feature', BOX);
    });

    test('the suggestions are read from the message', () => {
        expect(suggestionsOf("unknown device 'nic9'; did you mean 'nic0' or 'nic1'?")).toEqual(['nic0', 'nic1']);
        expect(suggestionsOf("unknown constant 'REDA' in flags of X; did you mean 'READ'? (valid: READ, WRITE)")).toEqual(['READ']);
        expect(suggestionsOf("unknown variable 'x': it is bound later, on line 3")).toEqual([]);
    });
});

describe('engine-derived fixes', () => {
    const NOT_VIABLE = `        unbind nic0
        bind nic0 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_SET_CONTAINER(group, container)`;

    test('a call failing with EPERM on a non-viable group: bind the devices the reason names to vfio-pci', async () => {
        const { actions, apply } = await actionsFor(onBox(NOT_VIABLE), 'call-fails');
        expect(actions.map(a => a.title)).toEqual(["Bind nic1 to vfio-pci (unbind ixgbe first)", "Add 'expect EPERM' (the call is meant to fail)"]);
        const fixed = apply(/^Bind/);
        expect(fixed).toBe(onBox(NOT_VIABLE.replace('        VFIO_GROUP_SET_CONTAINER', '        unbind nic1\n        bind nic1 vfio-pci\n        VFIO_GROUP_SET_CONTAINER')));
        const after = await parseValid(fixed);
        expect((after.diagnostics ?? []).filter(d => d.severity === 1)).toEqual([]);
    });

    test('a call meant to fail: add `expect ERRNO`', async () => {
        const { apply } = await actionsFor(onBox(NOT_VIABLE), 'call-fails');
        expect(apply(/expect EPERM/)).toBe(onBox(`${NOT_VIABLE} expect EPERM`));
        await fix(onBox('        close(99)'), 'call-fails', onBox('        close(99) expect EBADF'));
    });

    test('a call that fails only in some runs gets no `expect`', async () => {
        const { actions } = await actionsFor(onBox('        let c = open "/dev/vfio/vfio"\n        for i in 2 .. 3 {\n            close(i + 1)\n        }'), 'call-fails');
        expect(actions).toEqual([]);
    });

    test('a bind that leaves its group not viable: bind the rest of the group after it', async () => {
        await fix(onBox('        unbind nic0\n        bind nic0 vfio-pci   // half of the slot'), 'group-not-viable',
            onBox('        unbind nic0\n        bind nic0 vfio-pci   // half of the slot\n        unbind nic1\n        bind nic1 vfio-pci'));
    });

    test('a DMA that faults: add `expect fault`', async () => {
        await fix(onBox('        dma nvme0 read 0x1000 len 8'), 'dma-fault', onBox('        dma nvme0 read 0x1000 len 8 expect fault'));
    });
});
