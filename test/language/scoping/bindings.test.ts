/**
 * Visibility of bindings: after their `let`, within their process, across the process's
 * re-entered blocks; loop and procedure bodies are scopes; `send ... as g` binds in the
 * receiver after the send; a forked child sees what its parent saw at the fork.
 */

import { describe, expect, test } from 'vitest';
import { expectError, expectNoIssues } from 'langium/test';
import { isCloseStatement, isNameRef, type CloseStatement } from '../../../language/generated/ast.js';
import { describeDiagnostics, nodesOf, validate, WORKSTATION } from '../helpers.js';

function scenario(processes: string): string {
    return `${WORKSTATION}\nscenario s on workstation {\n${processes}\n}\n`;
}

/** The `close(NAME)` statements of a document, by the name they close. */
function closes(document: { parseResult: { value: Parameters<typeof nodesOf>[0] } }): CloseStatement[] {
    return nodesOf(document.parseResult.value, isCloseStatement);
}

function target(close: CloseStatement): string | undefined {
    const fd = close.fd;
    return isNameRef(fd) ? fd.ref.ref?.$type : undefined;
}

describe('bindings', () => {
    test('a binding is visible after its let, not before', async () => {
        const result = await validate(scenario(`
    process p {
        close(x)
        let x = open "/dev/iommu"
        close(x)
    }`));
        const [before, after] = closes(result.document);
        expectError(result, /^unknown variable 'x': it is bound later, on line \d+$/,
            { node: before!.fd, property: 'ref', data: { code: 'unknown-variable' } });
        expect(target(after!)).toBe('OpenStatement');
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('a binding is not visible in another process, and the message says where it is', async () => {
        const result = await validate(scenario(`
    process qemu { let group = open vfio-group(nic0) }
    process intruder { close(group) }`));
        const [close] = closes(result.document);
        expectError(result, "unknown variable 'group': it is bound in process 'qemu', not in 'intruder' (pass an fd with `send`)",
            { node: close!.fd, property: 'ref', data: { code: 'unknown-variable' } });
    });

    test('a re-entered process block continues with the bindings of its earlier blocks', async () => {
        const result = await validate(scenario(`
    process a { let fd = open "/dev/iommu" }
    process b { let other = open "/dev/iommu" }
    process a { close(fd) }
    process b { close(fd) }`));
        const [inA, inB] = closes(result.document);
        expect(target(inA!)).toBe('OpenStatement');
        expectError(result, /^unknown variable 'fd': it is bound in process 'a'/, { node: inB!.fd, property: 'ref' });
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('a later let shadows an earlier one of the same name', async () => {
        const result = await validate(scenario(`
    process p {
        let x = open "/dev/iommu"
        let x = open "/dev/vfio/vfio"
        close(x)
    }`));
        expectNoIssues(result);
        const ref = closes(result.document)[0]!.fd;
        expect(isNameRef(ref) && ref.ref.ref?.$cstNode?.text).toContain('/dev/vfio/vfio');
    });

    test('loop variables are visible in their body only; a let in a loop body stays in it', async () => {
        const result = await validate(scenario(`
    process p {
        let ram = mmap 1G
        for i in 0 .. 3 {
            let fd = open "/dev/iommu"
            close(fd)
            dma nic0 read ram + i * 4K len 8 expect fault
        }
        close(fd)
        dma nic0 read i len 8 expect fault
    }`));
        expect(describeDiagnostics(result.document)).toEqual([
            expect.stringMatching(/unknown variable 'fd'/),
            expect.stringMatching(/unknown variable 'i'/),
        ]);
        expect(target(closes(result.document)[0]!)).toBe('OpenStatement');
    });

    test('a procedure sees its parameters and own bindings, not the calling process\'s', async () => {
        const result = await validate(scenario(`
    procedure setup(dev, n) {
        let g = open vfio-group(dev)
        close(g)
        dma dev read n len 4 expect fault
        close(outside)
    }
    process p {
        let outside = open "/dev/iommu"
        call setup(nic0, 4K)
    }`));
        expect(describeDiagnostics(result.document)).toEqual([
            expect.stringMatching(/unknown variable 'outside': it is bound in process 'p'; a procedure sees only its parameters/),
        ]);
    });

    test('send binds its name in the receiver after the send, not before', async () => {
        const result = await validate(scenario(`
    process owner { let group = open vfio-group(nic0) }
    process user { close(g) }
    process owner { send group to user as g }
    process user { close(g) }`));
        const [early, late] = closes(result.document);
        expectError(result, /^unknown variable 'g'/, { node: early!.fd, property: 'ref' });
        expect(target(late!)).toBe('SendStatement');
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('a forked child sees what its parent saw at the fork, not what the parent binds after', async () => {
        const result = await validate(scenario(`
    process parent {
        let before = open "/dev/iommu"
        fork child
        let after = open "/dev/iommu"
    }
    process child {
        close(before)
        close(after)
    }`));
        const [seen, unseen] = closes(result.document);
        expect(target(seen!)).toBe('OpenStatement');
        expectError(result, /^unknown variable 'after': it is bound in process 'parent', not in 'child'/, { node: unseen!.fd, property: 'ref' });
        expect(describeDiagnostics(result.document)).toHaveLength(1);
    });

    test('send to an unknown process is an error with suggestions; fork children are processes', async () => {
        const result = await validate(scenario(`
    process parent {
        let g = open vfio-group(nic0)
        fork child
        send g to chlid as x
        send g to child as y
    }`));
        expect(describeDiagnostics(result.document)).toEqual([
            expect.stringMatching(/unknown process 'chlid'; did you mean 'child'\? \[unknown-process\]/),
        ]);
    });
});
