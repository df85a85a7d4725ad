/**
 * Kernel constants resolve against the ioctl and field they are written in: full names
 * anywhere, short names (without the set's prefix) in that field; numbers may stand in for them.
 * A bare name where the kernel takes a device name is a device before a binding.
 */

import { describe, expect, test } from 'vitest';
import { expectError, expectWarning } from 'langium/test';
import { isIoctlStatement, isKernelConstant, isNameRef, type NameRef } from '../../../language/generated/ast.js';
import { describeDiagnostics, nodesOf, validate, WORKSTATION } from '../helpers.js';

function scenario(body: string): string {
    return `${WORKSTATION}\nscenario s on workstation {\n    process p {\n${body}\n    }\n}\n`;
}

function refNamed(root: Parameters<typeof nodesOf>[0], text: string): NameRef {
    const found = nodesOf(root, isNameRef).find(r => r.ref.$refText === text);
    if (!found) {
        throw new Error(`no reference '${text}'`);
    }
    return found;
}

describe('kernel constants', () => {
    test('short and full names link to the constant, with its value', async () => {
        const result = await validate(scenario(`
        let c = open "/dev/vfio/vfio"
        let ram = mmap 4K
        VFIO_IOMMU_MAP_DMA(c, vaddr: ram, iova: 0, size: 4K, flags: READ | WRITE)
        let g = open vfio-group(nic0)
        VFIO_GROUP_GET_STATUS(g) expect ok { flags: VIABLE | CONTAINER_SET }
        VFIO_CHECK_EXTENSION(c, VFIO_TYPE1v2_IOMMU) expect ok { value: 1 }`));
        expect(describeDiagnostics(result.document)).toEqual([]);
        const root = result.document.parseResult.value;
        const read = refNamed(root, 'READ').ref.ref;
        expect(isKernelConstant(read) && [read.name, read.value]).toEqual(['VFIO_DMA_MAP_FLAG_READ', 1n]);
        expect(refNamed(root, 'WRITE').ref.ref).toMatchObject({ name: 'VFIO_DMA_MAP_FLAG_WRITE', value: 2n });
        expect(refNamed(root, 'VIABLE').ref.ref).toMatchObject({ name: 'VFIO_GROUP_FLAGS_VIABLE', value: 1n });
        expect(refNamed(root, 'VFIO_TYPE1v2_IOMMU').ref.ref).toMatchObject({ value: 3n });
    });

    test('a short name means the constant of the field it is written in', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        let ioas = IOMMU_IOAS_ALLOC(fd)
        let ram = mmap 4K
        IOMMU_IOAS_MAP(fd, ioas_id: ioas, user_va: ram, length: 4K, iova: 0, flags: FIXED_IOVA | READABLE | WRITEABLE)`));
        expect(describeDiagnostics(result.document)).toEqual([]);
        const root = result.document.parseResult.value;
        expect(refNamed(root, 'FIXED_IOVA').ref.ref).toMatchObject({ name: 'IOMMU_IOAS_MAP_FIXED_IOVA' });
        expect(refNamed(root, 'READABLE').ref.ref).toMatchObject({ name: 'IOMMU_IOAS_MAP_READABLE' });
    });

    test('an unknown constant lists the constants valid in that field', async () => {
        const result = await validate(scenario(`
        let c = open "/dev/vfio/vfio"
        let ram = mmap 4K
        VFIO_IOMMU_MAP_DMA(c, vaddr: ram, iova: 0, size: 4K, flags: READ | REED)`));
        expectError(result, "unknown constant 'REED' in flags of VFIO_IOMMU_MAP_DMA; did you mean 'READ'? (valid: READ, WRITE, VADDR)",
            { node: refNamed(result.document.parseResult.value, 'REED'), property: 'ref', data: { code: 'unknown-constant' } });
    });

    test('a short name of another field does not resolve; a full name of another field warns', async () => {
        const result = await validate(scenario(`
        let g = open vfio-group(nic0)
        VFIO_GROUP_GET_STATUS(g) expect ok { flags: READ }
        VFIO_GROUP_GET_STATUS(g) expect ok { flags: VFIO_DMA_MAP_FLAG_READ }`));
        const root = result.document.parseResult.value;
        expectError(result, /^unknown constant 'READ' in flags of VFIO_GROUP_GET_STATUS .*\(valid: VIABLE, CONTAINER_SET\)$/,
            { node: refNamed(root, 'READ'), property: 'ref' });
        expectWarning(result, 'VFIO_DMA_MAP_FLAG_READ is not one of the constants of flags of VFIO_GROUP_GET_STATUS',
            { node: refNamed(root, 'VFIO_DMA_MAP_FLAG_READ'), property: 'ref', data: { code: 'constant-not-for-field' } });
    });

    test('constants of array elements resolve against the element field', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        let ioas = IOMMU_IOAS_ALLOC(fd)
        IOMMU_IOAS_ALLOW_IOVAS(fd, ioas_id: ioas, num_iovas: 1, allowed_iovas: [ { start: 0, last: 4G - 1 } ])`));
        expect(describeDiagnostics(result.document)).toEqual([]);
    });

    test('full names resolve outside ioctls too; unknown ones suggest the closest', async () => {
        const result = await validate(scenario(`
        dma nic0 read VFIO_DMA_MAP_FLAG_READ len 4 expect fault
        dma nic0 read VFIO_DMA_MAP_FLAG_REDA len 4 expect fault`));
        const root = result.document.parseResult.value;
        expect(refNamed(root, 'VFIO_DMA_MAP_FLAG_READ').ref.ref).toMatchObject({ value: 1n });
        expectError(result, "unknown constant 'VFIO_DMA_MAP_FLAG_REDA'; did you mean 'VFIO_DMA_MAP_FLAG_READ'?",
            { node: refNamed(root, 'VFIO_DMA_MAP_FLAG_REDA'), property: 'ref', data: { code: 'unknown-constant' } });
    });

    test('where the kernel takes a device name, a bare name is the device even if a binding shares it', async () => {
        const result = await validate(scenario(`
        let g = open vfio-group(nic0)
        let nic0 = open "/dev/iommu"
        VFIO_GROUP_GET_DEVICE_FD(g, nic0)
        close(nic0)`));
        expect(describeDiagnostics(result.document)).toEqual([]);
        const [getFd] = nodesOf(result.document.parseResult.value, isIoctlStatement);
        const arg = getFd!.args[0]!.value;
        expect(isNameRef(arg) && arg.ref.ref?.$type).toBe('Endpoint');
        const close = nodesOf(result.document.parseResult.value, isNameRef).at(-1)!;
        expect(close.ref.ref?.$type).toBe('OpenStatement');
    });

    test('an unknown device where the kernel takes a device name says so', async () => {
        const result = await validate(scenario(`
        let g = open vfio-group(nic0)
        VFIO_GROUP_GET_DEVICE_FD(g, nic9)`));
        expectError(result, "unknown device 'nic9'; did you mean 'nic0' or 'nic1'?",
            { node: refNamed(result.document.parseResult.value, 'nic9'), property: 'ref', data: { code: 'unknown-device' } });
    });
});
