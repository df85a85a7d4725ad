import { describe, expect, test } from 'vitest';
import { io, iocDir, iocNr, iocSize, iocType, ior, iow, iowr, IOC_READ, IOC_WRITE } from '../../../engine/uapi/ioc.js';

describe('ioctl number encoding (asm-generic/ioctl.h)', () => {
    test('_IO has no size and no direction', () => {
        expect(io(';', 100)).toBe(0x3b64);
        expect(io(';', 0x80)).toBe(0x3b80);
        expect(io(0xae, 0x01)).toBe(0xae01);
    });

    test('_IOR/_IOW/_IOWR put the direction in bits 31:30 and the size in bits 29:16', () => {
        expect(iowr(0xae, 0xe0, 12)).toBe(0xc00caee0);
        expect(iow(0xae, 0xe1, 24)).toBe(0x4018aee1);
        expect(ior(0xae, 0x05, 8)).toBe(0x8008ae05);
    });

    test('decoding gives the parts back', () => {
        const cmd = iowr(0xae, 0xe0, 12);
        expect(iocNr(cmd)).toBe(0xe0);
        expect(iocType(cmd)).toBe(0xae);
        expect(iocSize(cmd)).toBe(12);
        expect(iocDir(cmd)).toBe(IOC_READ | IOC_WRITE);
        expect(cmd).toBeGreaterThan(0); // unsigned, never negative
    });
});
