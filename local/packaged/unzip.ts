/**
 * Unpacks a function zip as Lambda does before it runs the code: every entry of the central
 * directory, stored or deflated, CRC-checked. Enough for the zips `serverless package` writes
 * (no ZIP64, no encryption); anything else is refused rather than half unpacked.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;

export class InvalidZip extends Error {
  override readonly name = 'InvalidZip';
}

export interface ZipEntry {
  name: string;
  bytes: number;
}

function endOfCentralDirectory(zip: Buffer, file: string): number {
  // The record is 22 bytes plus a comment of at most 65,535.
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at -= 1) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  throw new InvalidZip(`${file}: not a zip file (no end of central directory)`);
}

/** Unpacks `file` into `dir` and returns its files. */
export async function unzip(file: string, dir: string): Promise<ZipEntry[]> {
  const zip = await readFile(file);
  const end = endOfCentralDirectory(zip, file);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  const root = path.resolve(dir);
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_ENTRY) throw new InvalidZip(`${file}: damaged central directory`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + nameLength + extraLength + commentLength;

    if (flags & 0x1) throw new InvalidZip(`${file}: ${name} is encrypted`);
    if (compressed === 0xffffffff || size === 0xffffffff) throw new InvalidZip(`${file}: ${name} needs ZIP64`);
    const target = path.resolve(root, name);
    if (!target.startsWith(`${root}${path.sep}`)) throw new InvalidZip(`${file}: ${name} would unpack outside ${dir}`);
    if (name.endsWith('/')) {
      await mkdir(target, { recursive: true });
      continue;
    }
    if (zip.readUInt32LE(localHeader) !== LOCAL_FILE_HEADER) throw new InvalidZip(`${file}: ${name} has no local header`);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    let content: Buffer;
    if (method === 0) content = data;
    else if (method === 8) content = zlib.inflateRawSync(data);
    else throw new InvalidZip(`${file}: ${name} uses compression method ${method}`);
    if (content.length !== size || zlib.crc32(content) !== crc) throw new InvalidZip(`${file}: ${name} is damaged (size or CRC)`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    entries.push({ name, bytes: size });
  }
  return entries;
}
