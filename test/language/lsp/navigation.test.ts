import { afterEach, describe, expect, test } from 'vitest';
import { clearDocuments, expectFindReferences, expectGoToDefinition, parseDocument, replaceIndices } from 'langium/test';
import type { LangiumDocument } from 'langium';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { WorkspaceEdit } from 'vscode-languageserver';
import { iommu } from '../helpers.js';
import { BOX } from './lsp-fixtures.js';

afterEach(async () => {
    await clearDocuments(iommu);
});

/** Renames the name at the first `<|>` and returns the edited texts by URI. */
async function rename(documents: LangiumDocument[], at: LangiumDocument, offset: number, newName: string): Promise<Record<string, string>> {
    const edit: WorkspaceEdit | undefined = await iommu.lsp.RenameProvider!.rename(at, {
        textDocument: { uri: at.uri.toString() }, position: at.textDocument.positionAt(offset), newName,
    });
    const out: Record<string, string> = {};
    for (const document of documents) {
        const edits = edit?.changes?.[document.uri.toString()] ?? [];
        out[document.uri.toString()] = TextDocument.applyEdits(document.textDocument, edits);
    }
    return out;
}

const SCENARIO = `${BOX}
scenario s on box {
    procedure poke(dev) {
        unbind dev
    }
    process qemu {
        unbind nic0
        let group = open vfio-group(nic0)
    }
    process other {
        let group = open "/dev/vfio/1"
    }
    process qemu {
        VFIO_GROUP_GET_STATUS(group)
        call poke(nic1)
    }
}
`;

describe('go to definition', () => {
    test('a device in a scenario goes to its declaration in the machine', async () => {
        await expectGoToDefinition(iommu)({
            text: BOX.replace('nic0 {', '<|nic0|> {') + '\nscenario s on box {\n    process p {\n        unbind n<|>ic0\n    }\n}\n',
            index: 0, rangeIndex: 0, disposeAfterCheck: true,
        });
    });

    test('a variable in a later block of the process goes to its `let`', async () => {
        const text = SCENARIO.replace('let group = open vfio-group', 'let <|group|> = open vfio-group').replace('GET_STATUS(group)', 'GET_STATUS(gr<|>oup)');
        await expectGoToDefinition(iommu)({ text, index: 0, rangeIndex: 0, disposeAfterCheck: true });
    });

    test('a procedure and a machine', async () => {
        const procedure = SCENARIO.replace('procedure poke(', 'procedure <|poke|>(').replace('call poke(', 'call po<|>ke(');
        await expectGoToDefinition(iommu)({ text: procedure, index: 0, rangeIndex: 0, disposeAfterCheck: true });
        const machine = SCENARIO.replace('machine box', 'machine <|box|>').replace('on box', 'on b<|>ox');
        await expectGoToDefinition(iommu)({ text: machine, index: 0, rangeIndex: 0, disposeAfterCheck: true });
    });
});

describe('find references', () => {
    test('a device: its declaration and every use', async () => {
        const text = BOX.replace('nic0 {', '<|nic0|> {')
            + '\nscenario s on box {\n    process p {\n        unbind <|nic0|>\n        let g = open vfio-group(<|nic0|>)\n        let d = VFIO_GROUP_GET_DEVICE_FD(g, <|n<|>ic0|>)\n    }\n}\n';
        await expectFindReferences(iommu)({ text, includeDeclaration: true, disposeAfterCheck: true });
    });

    test('a variable: its `let` and its uses across the blocks of its process, not another process\'s', async () => {
        const text = SCENARIO.replace('let group = open vfio-group', 'let <|gr<|>oup|> = open vfio-group').replace('GET_STATUS(group)', 'GET_STATUS(<|group|>)');
        await expectFindReferences(iommu)({ text, includeDeclaration: true, disposeAfterCheck: true });
    });
});

describe('rename', () => {
    test('a device, in its machine and in the scenarios of other files', async () => {
        const machine = await parseDocument(iommu, BOX, { documentUri: 'file:///rename/machine.iommu' });
        const { output, indices } = replaceIndices({ text: 'scenario s on box {\n    process p {\n        unbind ni<|>c0\n        dma nic0 write 0 len 4\n    }\n}\n' });
        const scenario = await parseDocument(iommu, output, { documentUri: 'file:///rename/scenario.iommu' });
        const texts = await rename([machine, scenario], scenario, indices[0]!, 'eth0');
        expect(texts['file:///rename/machine.iommu']).toContain('endpoint 02:00.0 eth0 { driver ixgbe }');
        expect(texts['file:///rename/scenario.iommu']).toBe('scenario s on box {\n    process p {\n        unbind eth0\n        dma eth0 write 0 len 4\n    }\n}\n');
    });

    test('a machine, across files', async () => {
        const machine = await parseDocument(iommu, BOX, { documentUri: 'file:///rename/m.iommu' });
        const scenario = await parseDocument(iommu, 'scenario s on box { }\n', { documentUri: 'file:///rename/s.iommu' });
        const texts = await rename([machine, scenario], machine, BOX.indexOf('box'), 'server');
        expect(texts['file:///rename/m.iommu']).toMatch(/^machine server \{/);
        expect(texts['file:///rename/s.iommu']).toBe('scenario s on server { }\n');
    });

    test('a variable: its `let` and its uses in later blocks of the process only', async () => {
        const document = await parseDocument(iommu, SCENARIO);
        const texts = await rename([document], document, SCENARIO.indexOf('group = open vfio'), 'grp');
        const text = texts[document.uri.toString()]!;
        expect(text).toContain('let grp = open vfio-group(nic0)');
        expect(text).toContain('VFIO_GROUP_GET_STATUS(grp)');
        expect(text).toContain('let group = open "/dev/vfio/1"');
    });

    test('a procedure and its parameter', async () => {
        const document = await parseDocument(iommu, SCENARIO);
        const procedure = (await rename([document], document, SCENARIO.indexOf('poke'), 'prod'))[document.uri.toString()]!;
        expect(procedure).toContain('procedure prod(dev)');
        expect(procedure).toContain('call prod(nic1)');
        const parameter = (await rename([document], document, SCENARIO.indexOf('unbind dev') + 8, 'device'))[document.uri.toString()]!;
        expect(parameter).toContain('procedure poke(device) {\n        unbind device\n');
    });

    test('a process: every block of it', async () => {
        const document = await parseDocument(iommu, SCENARIO);
        const text = (await rename([document], document, SCENARIO.indexOf('qemu'), 'vmm'))[document.uri.toString()]!;
        expect(text.match(/process vmm \{/g)).toHaveLength(2);
        expect(text).not.toContain('qemu');
    });

    test('refuses names the language would not read back', async () => {
        const document = await parseDocument(iommu, SCENARIO);
        const at = SCENARIO.indexOf('group = open vfio');
        await expect(rename([document], document, at, '2fast')).rejects.toThrow(/not a valid name/);
        await expect(rename([document], document, at, 'open')).rejects.toThrow(/keyword/);
        await expect(rename([document], document, at, 'my-group')).rejects.toThrow(/not a valid name/);
        expect((await rename([document], document, at, 'id'))[document.uri.toString()]).toContain('VFIO_GROUP_GET_STATUS(id)');
        const device = SCENARIO.indexOf('nic0 {');
        await expect(rename([document], document, device, 'nic1')).rejects.toThrow(/already declared in machine 'box'/);
        await expect(rename([document], document, device, 'id')).rejects.toThrow(/keyword/);
    });

    test('refuses to rename what has no name of its own in the text', async () => {
        const text = BOX.replace('driver ixgbe }\n            endpoint 02:00.1', 'driver ixgbe sriov 2 }\n            endpoint 02:00.1')
            + '\nscenario s on box {\n    process p {\n        let c = open "/dev/vfio/vfio"\n        VFIO_SET_IOMMU(c, VFIO_TYPE1v2_IOMMU)\n        unbind nic0.vf1\n    }\n}\n';
        const document = await parseDocument(iommu, text);
        const position = (needle: string) => document.textDocument.positionAt(text.indexOf(needle) + 1);
        const prepare = (needle: string) => iommu.lsp.RenameProvider!.prepareRename(document, { textDocument: { uri: document.uri.toString() }, position: position(needle) });
        expect(() => prepare('VFIO_TYPE1v2_IOMMU')).toThrow(/kernel constant/);
        expect(() => prepare('nic0.vf1')).toThrow(/virtual function/);
        expect(prepare('unbind nic0')).toBeUndefined();
    });
});
