/** Scenarios against the uAPI table and themselves. */

import { describe, expect, test } from 'vitest';
import { expectError, expectWarning } from 'langium/test';
import {
    isCallStatement, isCapsStatement, isExpectation, isIoctlArg, isIoctlStatement, isProcedure, isStructLiteral,
} from '../../../language/generated/ast.js';
import { describeDiagnostics, nodesOf, validate, WORKSTATION } from '../helpers.js';

function scenario(body: string, procedures = ''): string {
    return `${WORKSTATION}\nscenario s on workstation {\n${procedures}\n    process p {\n${body}\n    }\n}\n`;
}

describe('ioctl arguments', () => {
    test('a positional argument where the ioctl takes none', async () => {
        const result = await validate(scenario(`
        let c = open "/dev/vfio/vfio"
        VFIO_IOMMU_MAP_DMA(c, 0x1000)`));
        const arg = nodesOf(result.document.parseResult.value, isIoctlArg)[0]!;
        expectError(result, 'VFIO_IOMMU_MAP_DMA takes no positional argument (name its fields: argsz, flags, vaddr, iova, size)',
            { node: arg, property: 'value', data: { code: 'unexpected-argument' } });
    });

    test('a struct ioctl with a positional field takes one value; two are too many', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        let ioas = IOMMU_IOAS_ALLOC(fd)
        IOMMU_DESTROY(fd, ioas)
        IOMMU_DESTROY(fd, ioas, ioas)`));
        const args = nodesOf(result.document.parseResult.value, isIoctlArg);
        expectError(result, 'IOMMU_DESTROY takes one positional argument', { node: args[2]!, property: 'value' });
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('fields on an ioctl that takes a single value', async () => {
        const result = await validate(scenario(`
        let c = open "/dev/vfio/vfio"
        VFIO_SET_IOMMU(c, type: 3)`));
        const arg = nodesOf(result.document.parseResult.value, isIoctlArg)[0]!;
        expectError(result, 'VFIO_SET_IOMMU takes a single value, not fields', { node: arg, property: 'field', data: { code: 'unknown-field' } });
    });

    test('a field given twice', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        IOMMU_IOAS_ALLOC(fd, flags: 0, flags: 1)`));
        const arg = nodesOf(result.document.parseResult.value, isIoctlArg)[1]!;
        expectError(result, "field 'flags' is given twice", { node: arg, property: 'field', data: { code: 'duplicate-field' } });
    });

    test('the struct size field may be overridden (argsz in VFIO, size in iommufd)', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        IOMMU_IOAS_ALLOC(fd, size: 7) expect EINVAL
        let g = open vfio-group(nic0)
        VFIO_GROUP_GET_STATUS(g, argsz: 7) expect EINVAL`));
        expect(describeDiagnostics(result.document)).toEqual([]);
    });

    test('fields of array elements, and arrays where the field is none', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        let ioas = IOMMU_IOAS_ALLOC(fd)
        IOMMU_IOAS_ALLOW_IOVAS(fd, ioas_id: ioas, num_iovas: 1, allowed_iovas: [ { start: 0, lats: 4G } ])
        IOMMU_IOAS_ALLOC(fd, flags: [ { a: 1 } ])`));
        const struct = nodesOf(result.document.parseResult.value, isStructLiteral)[0]!;
        expectError(result, "unknown field 'lats' of the elements of 'allowed_iovas'; did you mean 'last'?",
            { node: struct.fields[1]!, property: 'field', data: { code: 'unknown-field' } });
        expectError(result, "field 'flags' of IOMMU_IOAS_ALLOC is not an array", { node: nodesOf(result.document.parseResult.value, isIoctlArg).at(-1)!, property: 'field' });
    });

    test('let on an ioctl with no main out-value warns', async () => {
        const result = await validate(scenario(`
        let c = open "/dev/vfio/vfio"
        let r = VFIO_SET_IOMMU(c, TYPE1v2_IOMMU)`));
        const call = nodesOf(result.document.parseResult.value, isIoctlStatement)[0]!;
        expectWarning(result, "VFIO_SET_IOMMU has no main out-value: 'r' will hold its return value (0)",
            { node: call, property: 'name', data: { code: 'no-value-to-bind' } });
    });
});

describe('expectations', () => {
    test('an unknown errno suggests the closest', async () => {
        const result = await validate(scenario('        open "/dev/iommu" expect EBUSSY'));
        const expectation = nodesOf(result.document.parseResult.value, isExpectation)[0]!;
        expectError(result, "unknown errno 'EBUSSY'; did you mean 'EBUSY'?", { node: expectation, property: 'errno', data: { code: 'unknown-errno' } });
    });

    test('errno aliases and numbers are errnos', async () => {
        const result = await validate(scenario(`
        open "/dev/iommu" expect ENOTSUP
        open "/dev/iommu" expect EWOULDBLOCK`));
        expect(describeDiagnostics(result.document)).toEqual([]);
    });

    test('only a dma can fault', async () => {
        const result = await validate(scenario('        open "/dev/iommu" expect fault'));
        const expectation = nodesOf(result.document.parseResult.value, isExpectation)[0]!;
        expectError(result, "only a 'dma' can fault; expect ok or an errno here", { node: expectation, property: 'outcome', data: { code: 'fault-not-dma' } });
    });

    test('out-values of calls that are not ioctls', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu" expect ok { fd: 3 }
        dma nic0 read 0 len 4 expect ok { pa: 0x1000 }
        let p = sva-bind gpu0 expect ok { pasid: 1 }
        let m = mmap 4K expect ok { pasid: 1 }`));
        const expectation = nodesOf(result.document.parseResult.value, isExpectation)[3]!;
        expectError(result, "'mmap' has no out-value 'pasid' (out-values: addr, ret)", { node: expectation.fields[0]!, property: 'field' });
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('EMSGSIZE with out-values, flags has, and return values named by the ioctl', async () => {
        const result = await validate(scenario(`
        let fd = open "/dev/iommu"
        let ioas = IOMMU_IOAS_ALLOC(fd)
        IOMMU_IOAS_IOVA_RANGES(fd, ioas_id: ioas, num_iovas: 0) expect EMSGSIZE { num_iovas: 2 }
        let g = open vfio-group(nic0)
        VFIO_GROUP_GET_STATUS(g) expect ok { flags has VIABLE, flags: VIABLE }
        let c = open "/dev/vfio/vfio"
        VFIO_CHECK_EXTENSION(c, VFIO_TYPE1v2_IOMMU) expect ok { value: 1, ret: 1 }
        let d = VFIO_GROUP_GET_DEVICE_FD(g, nic0) expect ok { fd: 5 }`));
        expect(describeDiagnostics(result.document)).toEqual([]);
    });
});

describe('procedures and processes', () => {
    test('a call passes as many arguments as the procedure has parameters', async () => {
        const result = await validate(scenario('        call take(nic0, nic1)', '    procedure take(dev) { unbind dev }'));
        const call = nodesOf(result.document.parseResult.value, isCallStatement)[0]!;
        expectError(result, "procedure 'take' takes 1 argument (dev), not 2", { node: call, property: 'procedure', data: { code: 'wrong-argument-count' } });
    });

    test('procedures and parameters are declared once', async () => {
        const result = await validate(scenario('        exit', `
    procedure a(x, x) { exit }
    procedure a() { exit }`));
        const [first, second] = nodesOf(result.document.parseResult.value, isProcedure);
        expectError(result, "parameter 'x' is declared twice", { node: first!.params[1]!, property: 'name', data: { code: 'duplicate-name' } });
        expectError(result, "procedure 'a' is declared twice", { node: second!, property: 'name', data: { code: 'duplicate-name' } });
    });

    test('capabilities are written as Linux names them, or none', async () => {
        const result = await validate(scenario('        caps ipc_lock'));
        const caps = nodesOf(result.document.parseResult.value, isCapsStatement)[0]!;
        expectError(result, "'ipc_lock' is no capability: write them as Linux names them (CAP_IPC_LOCK ...), or 'caps none'",
            { node: caps, property: 'caps', data: { code: 'invalid-capability' } });
    });
});
