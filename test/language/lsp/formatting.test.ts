import { describe, expect, test } from 'vitest';
import { expectFormatting, parseDocument } from 'langium/test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { fixture, fixtureFiles, iommu } from '../helpers.js';

const format = expectFormatting(iommu);

/** The text after formatting. */
async function formatted(text: string, tabSize = 4): Promise<string> {
    const document = await parseDocument(iommu, text);
    const edits = await iommu.lsp.Formatter!.formatDocument(document, { textDocument: { uri: document.uri.toString() }, options: { tabSize, insertSpaces: true } });
    return TextDocument.applyEdits(document.textDocument, edits);
}

const MESSY = `

machine   m{
  iommu u intel-vtd{ features intr-remap   sva }
   pci 0000 iommu u {
 root-port 00:1c.0 rp0 acs( sv rr ) {
        endpoint 01:00.0 nvme0 {driver nvme}   // stays after the code
      }
  }
}
scenario s on m {
process p {
// a comment of the block
unbind nvme0
  bind nvme0 vfio-pci
    let c=open "/dev/vfio/vfio"
    let g =   open vfio-group( nvme0 )
    VFIO_GROUP_SET_CONTAINER ( g ,c )



    let ram = mmap ( 4K*16 )-1
    VFIO_IOMMU_MAP_DMA(c,vaddr:ram, iova : -1,
        size: 1G, flags: READ|WRITE)
    /* a block comment */
    for i in 1..3 { close( 99 ) expect EBADF }
    VFIO_GROUP_GET_STATUS(g) expect ok {flags has VIABLE}
}
}`;

const TIDY = `machine m {
    iommu u intel-vtd { features intr-remap sva }
    pci 0000 iommu u {
        root-port 00:1c.0 rp0 acs(sv rr) {
            endpoint 01:00.0 nvme0 { driver nvme } // stays after the code
        }
    }
}
scenario s on m {
    process p {
        // a comment of the block
        unbind nvme0
        bind nvme0 vfio-pci
        let c = open "/dev/vfio/vfio"
        let g = open vfio-group(nvme0)
        VFIO_GROUP_SET_CONTAINER(g, c)

        let ram = mmap (4K * 16) - 1
        VFIO_IOMMU_MAP_DMA(c, vaddr: ram, iova: -1,
                           size: 1G, flags: READ | WRITE)
        /* a block comment */
        for i in 1 .. 3 { close(99) expect EBADF }
        VFIO_GROUP_GET_STATUS(g) expect ok { flags has VIABLE }
    }
}
`;

describe('formatting', () => {
    test('indents blocks by 4, spaces operators and calls, keeps comments', async () => {
        await format({ before: MESSY, after: TIDY, disposeAfterCheck: true });
    });

    test('indents by the editor\'s tab size, in spaces', async () => {
        const text = 'scenario s on m {\nprocess p {\nlet c=open "/dev/iommu"\nIOMMU_IOAS_ALLOC(\nc)\n}\n}\n';
        expect(await formatted(text, 2)).toBe(
            'scenario s on m {\n  process p {\n    let c = open "/dev/iommu"\n    IOMMU_IOAS_ALLOC(\n      c)\n  }\n}\n');
        // A tab size of 0 (or none) falls back to 4.
        expect(await formatted(text, 0)).toBe(
            'scenario s on m {\n    process p {\n        let c = open "/dev/iommu"\n        IOMMU_IOAS_ALLOC(\n            c)\n    }\n}\n');
    });

    test('is idempotent', async () => {
        await format({ before: TIDY, after: TIDY, disposeAfterCheck: true });
        expect(await formatted(await formatted(MESSY))).toBe(TIDY);
    });

    test('aligned comments keep their column', async () => {
        const text = `machine m {
    memory 16G                  // RAM
    page-size 4K                // CPU page size
    cmdline "iommu=pt"
                                // a note on the line above
}
`;
        await format({ before: text, after: text, disposeAfterCheck: true });
    });

    test('lines inside a call align with its parenthesis, or indent one level when it ends its line', async () => {
        await format({
            before: 'scenario s on m {\n    process p {\n        IOMMU_IOAS_ALLOW_IOVAS(fd,\n   allowed_iovas: [ { start: 0, last: 4G - 1 } ]\n        )\n    }\n}\n',
            after: 'scenario s on m {\n    process p {\n        IOMMU_IOAS_ALLOW_IOVAS(fd,\n                               allowed_iovas: [ { start: 0, last: 4G - 1 } ]\n                              )\n    }\n}\n',
            disposeAfterCheck: true,
        });
        await format({
            before: 'scenario s on m {\n    process p {\n        IOMMU_IOAS_ALLOW_IOVAS(\n fd, allowed_iovas: [{ start: 0, last: 4G - 1 }]\n)\n    }\n}\n',
            after: 'scenario s on m {\n    process p {\n        IOMMU_IOAS_ALLOW_IOVAS(\n            fd, allowed_iovas: [{ start: 0, last: 4G - 1 }]\n        )\n    }\n}\n',
            disposeAfterCheck: true,
        });
    });

    test('a range formats only its lines', async () => {
        await format({
            before: 'scenario s on m {\n process p {\n  let c=open "/dev/iommu"\n  close( c )\n }\n}\n',
            after: 'scenario s on m {\n process p {\n        let c = open "/dev/iommu"\n  close( c )\n }\n}\n',
            range: { start: { line: 2, character: 0 }, end: { line: 2, character: 30 } },
            disposeAfterCheck: true,
        });
    });

    test('a document with syntax errors is left alone', async () => {
        const broken = 'scenario s on m {\n process p {\n  let c=open\n}\n';
        expect(await formatted(broken)).toBe(broken);
    });

    test('the contract and the examples are already formatted', async () => {
        const files = [
            ...fixtureFiles('contract').map(f => `contract/${f}`),
            ...fixtureFiles('examples').map(f => `examples/${f}`),
        ];
        for (const file of files) {
            const text = fixture(file);
            expect(await formatted(text), file).toBe(text);
        }
    });
});
