/**
 * The vendor IDs the quirk tables key on, spelled as in `include/linux/pci_ids.h`.
 */

export const PCI_ANY_ID = 0xffff;

export const PCI_VENDOR_ID_ATI = 0x1002;
export const PCI_VENDOR_ID_AMD = 0x1022;
export const PCI_VENDOR_ID_INTEL = 0x8086;
export const PCI_VENDOR_ID_SOLARFLARE = 0x1924;
export const PCI_VENDOR_ID_QCOM = 0x17cb;
export const PCI_VENDOR_ID_HXT = 0x1dbf;
export const PCI_VENDOR_ID_CAVIUM = 0x177d;
export const PCI_VENDOR_ID_AMCC = 0x10e8;
export const PCI_VENDOR_ID_AMPERE = 0x1def;
export const PCI_VENDOR_ID_BROADCOM = 0x14e4;
export const PCI_VENDOR_ID_LOONGSON = 0x0014;
export const PCI_VENDOR_ID_AMAZON_ANNAPURNA_LABS = 0x1c36;
export const PCI_VENDOR_ID_ZHAOXIN = 0x1d17;
export const PCI_VENDOR_ID_NXP = 0x1957;
export const PCI_VENDOR_ID_WANGXUN = 0x8088;
export const PCI_VENDOR_ID_RICOH = 0x1180;
export const PCI_VENDOR_ID_GLENFLY = 0x6766;
export const PCI_VENDOR_ID_MARVELL_EXT = 0x1b4b;
export const PCI_VENDOR_ID_TTI = 0x1103;
export const PCI_VENDOR_ID_JMICRON = 0x197b;
export const PCI_DEVICE_ID_JMICRON_JMB388_ESD = 0x2392;
export const PCI_VENDOR_ID_ADAPTEC2 = 0x9005;
export const PCI_VENDOR_ID_ASMEDIA = 0x1b21;
export const PCI_VENDOR_ID_PLX = 0x10b5;
export const PCI_VENDOR_ID_ASPEED = 0x1a03;

/**
 * Vendor ID the engine gives a function whose `id` the user did not write: Red Hat's 0x1b36,
 * the ID QEMU uses for its generic devices. No entry of the ACS or DMA-alias quirk tables keys on
 * it, so quirks only ever fire for IDs the user wrote.
 */
export const DEFAULT_VENDOR_ID = 0x1b36;
export const DEFAULT_DEVICE_ID = 0x0000;
