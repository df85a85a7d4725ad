/**
 * The diagnostics that come from running scenarios on the engine (language/validation/
 * simulation-validator.ts): each code, with its message and the range it is reported on.
 */

import { describe, expect, test } from 'vitest';
import { expectError, expectIssue, expectNoIssues, expectWarning } from 'langium/test';
import { DiagnosticSeverity } from 'vscode-languageserver';
import { rangeOf, validate } from '../helpers.js';
import { onBox } from './lsp-fixtures.js';

/** The range of a whole line's statement: from its first non-blank character to its end. */
function statementRange(text: string, statement: string) {
    return rangeOf(text, statement);
}

describe('diagnostics from the simulation', () => {
    test('call-fails: an error on the call naming the errno, the reason and the kernel source', async () => {
        const text = onBox(`        unbind nic0
        bind nic0 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_SET_CONTAINER(group, container)`);
        const result = await validate(text);
        expectError(result, 'EPERM: group 1 is not viable: 0000:02:00.1 (nic1) is bound to ixgbe (drivers/iommu/iommu.c)', {
            range: statementRange(text, 'VFIO_GROUP_SET_CONTAINER(group, container)'), code: 'call-fails', data: { code: 'call-fails' },
        });
    });

    test('call-fails in a loop: one diagnostic per distinct message, saying which run', async () => {
        const text = onBox('        for i in 1 .. 2 {\n            close(90 + i)\n        }');
        const result = await validate(text);
        const range = statementRange(text, 'close(90 + i)');
        expectError(result, 'EBADF: fd 91 is not open in qemu (fs/open.c) (i = 1)', { range });
        expectError(result, 'EBADF: fd 92 is not open in qemu (fs/open.c) (i = 2)', { range });
    });

    test('expect-mismatch: an error saying what was expected and what is predicted', async () => {
        const text = onBox('        let container = open "/dev/vfio/vfio"\n        close(container) expect EBUSY');
        const result = await validate(text);
        expectError(result, 'expected EBUSY, got ok', { range: statementRange(text, 'close(container) expect EBUSY'), code: 'expect-mismatch' });
    });

    test('expect-mismatch on out-values', async () => {
        const text = onBox('        unbind nic0\n        bind nic0 vfio-pci\n        let g = open vfio-group(nic0)\n        VFIO_GROUP_GET_STATUS(g) expect ok { flags: VIABLE }');
        const result = await validate(text);
        expectError(result, 'ok, but flags: expected VIABLE, got 0', { range: statementRange(text, 'VFIO_GROUP_GET_STATUS(g) expect ok { flags: VIABLE }'), code: 'expect-mismatch' });
    });

    test('dma-fault: an error with the fault reason', async () => {
        const text = onBox('        dma nvme0 read 0x1000 len 8');
        const result = await validate(text);
        expectError(result, /^DMA fault: 0000:01:00\.0 \(nvme0\): IOVA 0x1000 is not mapped in DMA-API domain \d+ \(x86-64\)/, {
            range: statementRange(text, 'dma nvme0 read 0x1000 len 8'), code: 'dma-fault',
        });
    });

    test('blocked-at-end and not-run: where the process waits and what never ran', async () => {
        const text = onBox(`        unbind nic0
        unbind nic1
        bind nic0 vfio-pci
        bind nic1 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nic0)
        VFIO_GROUP_SET_CONTAINER(group, container)
        VFIO_SET_IOMMU(container, VFIO_TYPE1v2_IOMMU)
        let dev = VFIO_GROUP_GET_DEVICE_FD(group, nic0)`, `    process admin {
        unbind nic0
        bind nic0 ixgbe
    }
`);
        const result = await validate(text);
        const admin = text.indexOf('process admin');
        const unbind = rangeOf(text.slice(admin), 'unbind nic0');
        const line = text.slice(0, admin).split('\n').length - 1;
        const shift = (r: typeof unbind) => ({ start: { ...r.start, line: r.start.line + line }, end: { ...r.end, line: r.end.line + line } });
        expectError(result, 'still blocked when the scenario ends: 0000:02:00.0 (nic0) has 1 open VFIO device file: vfio_unregister_group_dev sleeps until it is closed', {
            range: shift(unbind), code: 'blocked-at-end',
        });
        expectWarning(result, 'never runs: admin is still blocked, so this step never ran', {
            range: shift(rangeOf(text.slice(admin), 'bind nic0 ixgbe')), code: 'not-run',
        });
    });

    test('invalid-step: a step of a process that has exited', async () => {
        const text = onBox('        exit\n        close(3)');
        const result = await validate(text);
        expectError(result, 'cannot run: process qemu has exited', { range: statementRange(text, 'close(3)'), code: 'invalid-step' });
    });

    test('group-not-viable: a warning on the bind that leaves its group half on a kernel driver', async () => {
        const text = onBox('        unbind nic0\n        bind nic0 vfio-pci');
        const result = await validate(text);
        expectWarning(result, '0000:02:00.0 (nic0) shares IOMMU group 1 with a device still on a kernel driver (0000:02:00.1 (nic1) is bound to ixgbe): the group is not viable for VFIO', {
            range: statementRange(text, 'bind nic0 vfio-pci'), code: 'group-not-viable',
        });
    });

    test('no-interrupt-remapping: a warning on the IOMMU unit, an info when allowed on the command line', async () => {
        const text = onBox('        exit').replace('features intr-remap coherent', 'features coherent');
        const result = await validate(text);
        expectWarning(result, 'dmar0 has no interrupt remapping: MSIs are not isolated, so VFIO type1 and iommufd refuse its devices unless allow_unsafe_interrupts is set', {
            range: rangeOf(text, 'iommu dmar0 intel-vtd { features coherent }'), code: 'no-interrupt-remapping',
        });
        const allowed = text.replace('machine box {', 'machine box {\n    cmdline "vfio_iommu_type1.allow_unsafe_interrupts=1"');
        const info = await validate(allowed);
        expectIssue(info, {
            severity: DiagnosticSeverity.Information, code: 'no-interrupt-remapping',
            message: 'dmar0 has no interrupt remapping: MSIs are not isolated; allow_unsafe_interrupts lets VFIO use it anyway',
        });
    });

    test('noncoherent-without-kvm: a warning where the no-snoop device is opened for a VM that was not told', async () => {
        const text = onBox(`        unbind nvme0
        bind nvme0 vfio-pci
        let container = open "/dev/vfio/vfio"
        let group = open vfio-group(nvme0)
        VFIO_GROUP_SET_CONTAINER(group, container)
        VFIO_SET_IOMMU(container, VFIO_TYPE1v2_IOMMU)
        let dev = VFIO_GROUP_GET_DEVICE_FD(group, nvme0)
        let kvm = open "/dev/kvm"
        let vm = KVM_CREATE_VM(kvm)`).replace('{ driver nvme }', '{ driver nvme no-snoop }');
        const result = await validate(text);
        expectWarning(result, "0000:01:00.0 (nvme0) issues no-snoop DMA and dmar0 cannot force snooping, but no KVM-VFIO device knows about it: KVM will not emulate the guest's WBINVD (add it with KVM_DEV_VFIO_FILE_ADD)", {
            range: statementRange(text, 'let dev = VFIO_GROUP_GET_DEVICE_FD(group, nvme0)'), code: 'noncoherent-without-kvm',
        });
    });

    test('a scenario whose every call goes as expected has no simulation diagnostics', async () => {
        const text = onBox('        let container = open "/dev/vfio/vfio"\n        close(container)\n        close(container) expect EBADF\n        dma nvme0 read 0x1000 len 8 expect fault');
        const result = await validate(text);
        expectNoIssues(result);
        expect(result.diagnostics).toEqual([]);
    });
});
