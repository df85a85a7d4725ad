/**
 * Every kind of unknown name is an error at the name, with a stable code and the closest known
 * names: devices, variables (used before their `let`, used in another process), procedures,
 * machines, processes, constants, ioctls and fields.
 */

import { describe, expect, test } from 'vitest';
import { expectError } from 'langium/test';
import {
    isCallStatement, isExpectField, isIoctlArg, isIoctlStatement, isNameRef, isScenario, isUnbindStatement,
} from '../../../language/generated/ast.js';
import { describeDiagnostics, nodesOf, rangeOf, validate } from '../helpers.js';

const MACHINE = `machine box {
    iommu dmar0 intel-vtd { }
    pci 0000 iommu dmar0 {
        root-port 00:01.0 rp0 {
            endpoint 01:00.0 nic0 { driver ixgbe }
            endpoint 01:00.1 nic1 { driver ixgbe }
        }
    }
}
`;

describe('unknown names', () => {
    test('unknown device, at the name, with the closest devices', async () => {
        const text = `${MACHINE}scenario s on box { process p { unbind nic9 } }`;
        const result = await validate(text);
        const unbind = nodesOf(result.document.parseResult.value, isUnbindStatement)[0]!;
        expectError(result, "unknown device 'nic9'; did you mean 'nic0' or 'nic1'?", { node: unbind, property: 'device' });
        expectError(result, /unknown device/, { range: rangeOf(text, 'nic9') });
        const diagnostic = result.diagnostics.find(d => String(d.message).startsWith('unknown device'))!;
        expect(diagnostic.code).toBe('unknown-device');
        expect(diagnostic.data).toMatchObject({ code: 'unknown-device', refText: 'nic9' });
    });

    test('variable used before its let', async () => {
        const text = `${MACHINE}scenario s on box {
    process p {
        close(container)
        let container = open "/dev/vfio/vfio"
    }
}`;
        const result = await validate(text);
        expectError(result, "unknown variable 'container': it is bound later, on line 13",
            { range: rangeOf(text, 'container'), data: { code: 'unknown-variable' } });
    });

    test('variable used in another process', async () => {
        const text = `${MACHINE}scenario s on box {
    process qemu { let group = open vfio-group(nic0) }
    process intruder { close(group) }
}`;
        const result = await validate(text);
        expectError(result, "unknown variable 'group': it is bound in process 'qemu', not in 'intruder' (pass an fd with `send`)",
            { range: rangeOf(text, 'group', 2), data: { code: 'unknown-variable' } });
    });

    test('misspelt variable suggests the visible bindings', async () => {
        const text = `${MACHINE}scenario s on box {
    process p { let container = open "/dev/vfio/vfio" close(contianer) }
}`;
        const result = await validate(text);
        expectError(result, "unknown variable 'contianer'; did you mean 'container'?",
            { range: rangeOf(text, 'contianer'), data: { code: 'unknown-variable' } });
    });

    test('unknown procedure', async () => {
        const text = `${MACHINE}scenario s on box {
    procedure assign(dev) { unbind dev }
    process p { call asign(nic0) }
}`;
        const result = await validate(text);
        const call = nodesOf(result.document.parseResult.value, isCallStatement)[0]!;
        expectError(result, "unknown procedure 'asign'; did you mean 'assign'?",
            { node: call, property: 'procedure', data: { code: 'unknown-procedure' } });
    });

    test('unknown machine', async () => {
        const text = `${MACHINE}scenario s on bx { process p { exit } }`;
        const result = await validate(text);
        const scenario = nodesOf(result.document.parseResult.value, isScenario)[0]!;
        expectError(result, "unknown machine 'bx'; did you mean 'box'?", { node: scenario, property: 'machine', data: { code: 'unknown-machine' } });
    });

    test('devices of a scenario whose machine is unknown are not reported: the machine is', async () => {
        const text = `${MACHINE}scenario s on bx { process p { unbind nic0 let g = open vfio-group(nic9) VFIO_GROUP_GET_DEVICE_FD(g, nic0) } }`;
        const result = await validate(text);
        expect(describeDiagnostics(result.document)).toEqual([expect.stringContaining("unknown machine 'bx'")]);
    });

    test('unknown process', async () => {
        const text = `${MACHINE}scenario s on box {
    process sender { let g = open vfio-group(nic0) send g to reciever as h }
    process receiver { exit }
}`;
        const result = await validate(text);
        expectError(result, "unknown process 'reciever'; did you mean 'receiver'?",
            { range: rangeOf(text, 'reciever'), data: { code: 'unknown-process' } });
    });

    test('unknown constant lists the constants of the field', async () => {
        const text = `${MACHINE}scenario s on box {
    process p { let g = open vfio-group(nic0) VFIO_GROUP_GET_STATUS(g) expect ok { flags has VIABEL } }
}`;
        const result = await validate(text);
        const ref = nodesOf(result.document.parseResult.value, isNameRef).find(r => r.ref.$refText === 'VIABEL')!;
        expectError(result, "unknown constant 'VIABEL' in flags of VFIO_GROUP_GET_STATUS; did you mean 'VIABLE'? (valid: VIABLE, CONTAINER_SET)",
            { node: ref, property: 'ref', data: { code: 'unknown-constant' } });
    });

    test('unknown ioctl', async () => {
        const text = `${MACHINE}scenario s on box {
    process p { let g = open vfio-group(nic0) VFIO_GROUP_GET_STATS(g) }
}`;
        const result = await validate(text);
        const call = nodesOf(result.document.parseResult.value, isIoctlStatement)[0]!;
        expectError(result, "unknown ioctl 'VFIO_GROUP_GET_STATS'; did you mean 'VFIO_GROUP_GET_STATUS'?",
            { node: call, property: 'ioctl', data: { code: 'unknown-ioctl' } });
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('unknown field of an ioctl', async () => {
        const text = `${MACHINE}scenario s on box {
    process p {
        let c = open "/dev/vfio/vfio"
        let ram = mmap 4K
        VFIO_IOMMU_MAP_DMA(c, vaddr: ram, iovaa: 0, size: 4K, flags: READ)
    }
}`;
        const result = await validate(text);
        const arg = nodesOf(result.document.parseResult.value, isIoctlArg).find(a => a.field === 'iovaa')!;
        expectError(result, "unknown field 'iovaa' of VFIO_IOMMU_MAP_DMA; did you mean 'iova'?",
            { node: arg, property: 'field', data: { code: 'unknown-field' } });
    });

    test('unknown out-value in an expectation lists the out-values', async () => {
        const text = `${MACHINE}scenario s on box {
    process p { let fd = open "/dev/iommu" IOMMU_IOAS_ALLOC(fd) expect ok { out_ioas: 1 } }
}`;
        const result = await validate(text);
        const field = nodesOf(result.document.parseResult.value, isExpectField)[0]!;
        expectError(result, "IOMMU_IOAS_ALLOC has no out-value 'out_ioas'; did you mean 'out_ioas_id'? (out-values: out_ioas_id, ret)",
            { node: field, property: 'field', data: { code: 'unknown-field' } });
    });
});
