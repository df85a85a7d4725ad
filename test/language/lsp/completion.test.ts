import { describe, expect, test } from 'vitest';
import { expectCompletion } from 'langium/test';
import { CompletionItemKind, InsertTextFormat } from 'vscode-languageserver';
import { iommu } from '../helpers.js';
import { BOX, completionAt, onBox } from './lsp-fixtures.js';

const labels = async (text: string) => (await completionAt(text)).map(i => i.label);
const ofKind = async (text: string, kind: CompletionItemKind) => (await completionAt(text)).filter(i => i.kind === kind).map(i => i.label);

describe('statements', () => {
    test('a process body offers the statement keywords and snippets', async () => {
        const items = await completionAt(onBox('        <|>'));
        const keywords = items.filter(i => i.kind === CompletionItemKind.Keyword).map(i => i.label);
        expect(keywords).toEqual(expect.arrayContaining(['let', 'open', 'close', 'mmap', 'bind', 'unbind', 'dma', 'call', 'exit', 'for', 'repeat']));
        const snippets = items.filter(i => i.kind === CompletionItemKind.Snippet);
        expect(snippets.map(s => `${s.label}${s.labelDetails?.detail ?? ''}`)).toContain('open "/dev/vfio/vfio" (container)');
        const bind = snippets.find(s => s.label === 'bind')!;
        expect(bind.insertTextFormat).toBe(InsertTextFormat.Snippet);
        expect(bind.textEdit?.newText).toBe('unbind ${1:dev}\nbind ${1:dev} vfio-pci');
    });

    test('with no fd in scope, every ioctl is offered', async () => {
        const functions = await ofKind(onBox('        <|>'), CompletionItemKind.Function);
        expect(functions).toContain('VFIO_GROUP_GET_STATUS');
        expect(functions).toContain('IOMMU_IOAS_ALLOC');
    });
});

describe('ioctl names valid for the fds in scope', () => {
    test('a container fd: the container ioctls, written with the fd', async () => {
        const items = (await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        <|>'))).filter(i => i.kind === CompletionItemKind.Function);
        expect(items.map(i => i.label).sort()).toEqual([
            'VFIO_CHECK_EXTENSION', 'VFIO_GET_API_VERSION', 'VFIO_IOMMU_DIRTY_PAGES', 'VFIO_IOMMU_GET_INFO', 'VFIO_IOMMU_MAP_DMA',
            'VFIO_IOMMU_UNMAP_DMA', 'VFIO_SET_IOMMU',
        ]);
        const set = items.find(i => i.label === 'VFIO_SET_IOMMU')!;
        expect(set.textEdit?.newText).toBe('VFIO_SET_IOMMU(c, $1)$0');
        expect(set.detail).toBe('on c (VFIO container)');
    });

    test('an iommufd fd: the iommufd ioctls first, then the VFIO compat ones', async () => {
        const items = (await completionAt(onBox('        let fd = open "/dev/iommu"\n        IOMMU_<|>'))).filter(i => i.kind === CompletionItemKind.Function);
        const labels = items.map(i => i.label);
        expect(labels).toContain('IOMMU_IOAS_ALLOC');
        expect(labels).toContain('IOMMU_HWPT_ALLOC');
        expect(labels).not.toContain('VFIO_GROUP_GET_STATUS');
        const compat = items.find(i => i.label === 'VFIO_IOMMU_MAP_DMA');
        expect(compat?.detail ?? 'absent').toMatch(/compat|absent/);
        expect(items.find(i => i.label === 'IOMMU_IOAS_ALLOC')!.sortText! < (compat?.sortText ?? '9')).toBe(true);
    });

    test('a group fd: the group ioctls', async () => {
        const functions = await ofKind(onBox('        let g = open vfio-group(nic0)\n        VFIO_<|>'), CompletionItemKind.Function);
        expect(functions.sort()).toEqual(['VFIO_GROUP_GET_DEVICE_FD', 'VFIO_GROUP_GET_STATUS', 'VFIO_GROUP_SET_CONTAINER', 'VFIO_GROUP_UNSET_CONTAINER']);
    });

    test('a device fd, from GET_DEVICE_FD or the cdev: the device ioctls', async () => {
        const viaGroup = await ofKind(onBox('        let g = open vfio-group(nic0)\n        let d = VFIO_GROUP_GET_DEVICE_FD(g, nic0)\n        VFIO_DEVICE_<|>'), CompletionItemKind.Function);
        expect(viaGroup).toContain('VFIO_DEVICE_GET_INFO');
        expect(viaGroup).toContain('VFIO_DEVICE_RESET');
        const viaCdev = await ofKind(onBox('        let d = open vfio-device(nic0)\n        VFIO_DEVICE_<|>'), CompletionItemKind.Function);
        expect(viaCdev).toContain('VFIO_DEVICE_BIND_IOMMUFD');
    });

    test('KVM fds: /dev/kvm, a VM, a KVM device', async () => {
        const kvm = await ofKind(onBox('        let k = open "/dev/kvm"\n        KVM_<|>'), CompletionItemKind.Function);
        expect(kvm.sort()).toEqual(['KVM_CREATE_VM', 'KVM_GET_API_VERSION']);
        const vm = await ofKind(onBox('        let k = open "/dev/kvm"\n        let vm = KVM_CREATE_VM(k)\n        KVM_C<|>'), CompletionItemKind.Function);
        expect(vm).toContain('KVM_CREATE_DEVICE');
        const device = await ofKind(onBox('        let k = open "/dev/kvm"\n        let vm = KVM_CREATE_VM(k)\n        let kd = KVM_CREATE_DEVICE(vm, type: 0)\n        KVM_<|>'), CompletionItemKind.Function);
        expect(device).toContain('KVM_SET_DEVICE_ATTR');
    });

    test('renaming the ioctl of a call keeps to its fd\'s kind', async () => {
        const items = await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_<|>(g)'));
        const functions = items.filter(i => i.kind === CompletionItemKind.Function);
        expect(functions.map(i => i.label).sort()).toEqual(['VFIO_GROUP_GET_DEVICE_FD', 'VFIO_GROUP_GET_STATUS']);
        expect(functions[0]!.textEdit?.newText).toMatch(/^VFIO_GROUP_GET_\w+$/);
    });
});

describe('inside a call', () => {
    test('the fd: the variables of a kind the ioctl takes', async () => {
        expect(await labels(onBox('        let c = open "/dev/vfio/vfio"\n        let g = open vfio-group(nic0)\n        let ram = mmap 2M\n        VFIO_GROUP_GET_STATUS(<|>)'))).toEqual(['g']);
    });

    test('the struct\'s fields, with type and doc, except those written', async () => {
        const items = await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        VFIO_IOMMU_MAP_DMA(c, iova: 0, <|>)'));
        expect(items.map(i => i.label)).toEqual(['argsz', 'flags', 'vaddr', 'size']);
        const vaddr = items.find(i => i.label === 'vaddr')!;
        expect(vaddr.kind).toBe(CompletionItemKind.Field);
        expect(vaddr.detail).toBe('u64 in');
        expect(vaddr.documentation).toBe('process virtual address of the memory');
        expect(vaddr.textEdit?.newText).toBe('vaddr: ');
    });

    test('the constants of `flags`, by short name, with value and doc', async () => {
        const items = await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        VFIO_IOMMU_MAP_DMA(c, flags: READ | <|>)'));
        const constants = items.filter(i => i.kind === CompletionItemKind.EnumMember);
        expect(constants.map(i => i.label)).toEqual(['READ', 'WRITE', 'VADDR']);
        expect(constants[1]!.detail).toBe('0x2 · VFIO_DMA_MAP_FLAG_WRITE');
        expect(constants[1]!.documentation).toBe('the device may write the mapping');
    });

    test('the constants of an iommufd flags field', async () => {
        const constants = await ofKind(onBox('        let fd = open "/dev/iommu"\n        IOMMU_IOAS_MAP(fd, ioas_id: 1, flags: FIXED_IOVA | <|>)'), CompletionItemKind.EnumMember);
        expect(constants).toEqual(['FIXED_IOVA', 'WRITEABLE', 'READABLE']);
    });

    test('a positional constant argument, and variables', async () => {
        const items = await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        VFIO_SET_IOMMU(c, <|>)'));
        const constants = items.filter(i => i.kind === CompletionItemKind.EnumMember).map(i => i.label);
        expect(constants).toEqual(expect.arrayContaining(['TYPE1_IOMMU', 'TYPE1v2_IOMMU', 'NOIOMMU_IOMMU']));
        expect(items.find(i => i.label === 'TYPE1v2_IOMMU')!.detail).toBe('0x3 · VFIO_TYPE1v2_IOMMU');
        expect(items.filter(i => i.kind === CompletionItemKind.Variable).map(i => i.label)).toEqual(['c']);
    });

    test('a device name where the kernel takes one', async () => {
        const items = await completionAt(onBox('        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_DEVICE_FD(g, <|>)'));
        expect(items.map(i => i.label)).toEqual(['rp0', 'nvme0', 'rp1', 'nic0', 'nic1']);
        expect(items.find(i => i.label === 'nic0')!.detail).toBe('endpoint 02:00.0, ixgbe');
    });

    test('`expect ok { }`: the out-values of the call', async () => {
        expect(await labels(onBox('        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_STATUS(g) expect ok { <|> }'))).toEqual(['flags', 'ret']);
        expect(await labels(onBox('        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_STATUS(g) expect ok { flags has <|> }'))).toEqual(['VIABLE', 'CONTAINER_SET']);
    });
});

describe('names the grammar leaves to identifiers', () => {
    test('devices and variables, with what they are', async () => {
        const items = await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        unbind <|>'));
        expect(items.map(i => i.label)).toEqual(['rp0', 'nvme0', 'rp1', 'nic0', 'nic1']);
        const closeItems = await completionAt(onBox('        let c = open "/dev/vfio/vfio"\n        close(<|>)'));
        expect(closeItems.find(i => i.label === 'c')?.detail).toBe('fd: VFIO container');
    });

    test('drivers after `bind DEV`, vfio-pci first', async () => {
        const items = await labels(onBox('        bind nic0 <|>'));
        expect(items[0]).toBe('vfio-pci');
        expect(items).toEqual(expect.arrayContaining(['pci-stub', 'ixgbe', 'nvme']));
        expect(items).not.toContain('pci');
    });

    test('errno names after `expect`', async () => {
        await expectCompletion(iommu)({
            text: onBox('        close(99) expect EB<|>'),
            index: 0,
            expectedItems: ['E2BIG', 'EBADF', 'EBUSY', 'EFBIG', 'EBADFD'],
            disposeAfterCheck: true,
        });
        const items = await completionAt(onBox('        close(99) expect EBUS<|>'));
        expect(items[0]!.detail).toBe('errno 16: Device or resource busy');
    });

    test('machine names after `on`', async () => {
        await expectCompletion(iommu)({
            text: `${BOX}\nmachine other { }\nscenario s on <|>`,
            index: 0,
            expectedItems: ['box', 'other'],
            disposeAfterCheck: true,
        });
    });

    test('IOMMU kinds and features in machines', async () => {
        expect(await labels('machine m {\n    iommu u <|>\n}')).toEqual(['intel-vtd', 'amd-vi', 'arm-smmu-v3']);
        const features = await labels('machine m {\n    iommu u intel-vtd { features <|> }\n}');
        expect(features.slice(0, 4)).toEqual(['coherent', 'enforce-coherency', 'intr-remap', 'nesting']);
    });
});
