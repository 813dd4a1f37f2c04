// Container images without a registry: the rig assembles small images itself as docker-archive
// tarballs (manifest.json + image config + one layer tar, the format `docker save` writes and
// `ctr images import` reads) and imports them into the node's containerd.
//
// An image's tag is the hash of its content, so an unchanged image is neither rebuilt nor
// re-imported, and a changed one can never be confused with the old one.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { cacheRoot } from "../paths.ts";
import { nodeTool } from "./tools.ts";

const run = promisify(execFile);

/** One file of an image: copied from `source` on this machine, or written from `content`. */
export interface ImageFile {
  /** Absolute path inside the image. */
  path: string;
  source?: string;
  content?: string;
  mode?: number;
}

export interface ImageSpec {
  /** Repository name, e.g. `zk-rig/pause`; the tag is derived from the content. */
  name: string;
  files: ImageFile[];
  /** Symlinks inside the image: path → target. */
  symlinks?: Record<string, string>;
  /** Empty folders to create (e.g. `/tmp`). */
  dirs?: string[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
}

export interface BuiltImage {
  /** Fully qualified reference as containerd and the kubelet see it: `docker.io/zk-rig/NAME:HASH`. */
  ref: string;
  archive: string;
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The content hash of an image spec: the spec plus the bytes of every source file. */
function specHash(spec: ImageSpec): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ ...spec, files: spec.files.map((f) => ({ ...f, source: undefined })) }));
  for (const f of spec.files) h.update(f.source !== undefined ? readFileSync(f.source) : (f.content ?? ""));
  return h.digest("hex").slice(0, 16);
}

/**
 * Builds `spec` as a docker-archive tarball in the rig's cache (once per content hash) and
 * returns its reference and path. The reference is under docker.io/ because that is how the
 * kubelet normalises an image name without a registry (`zk-rig/pause:x` → `docker.io/zk-rig/pause:x`).
 */
export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const tag = specHash(spec);
  const ref = `docker.io/${spec.name}:${tag}`;
  const dir = join(cacheRoot(), "images", `${spec.name.replaceAll("/", "_")}-${tag}`);
  const archive = join(dir, "image.tar");
  if (existsSync(archive)) return { ref, archive };

  const work = join(dir, "work");
  rmSync(work, { recursive: true, force: true });
  const rootfs = join(work, "rootfs");
  mkdirSync(rootfs, { recursive: true });
  for (const d of spec.dirs ?? []) mkdirSync(join(rootfs, d), { recursive: true });
  for (const f of spec.files) {
    const dest = join(rootfs, f.path);
    mkdirSync(dirname(dest), { recursive: true });
    if (f.source !== undefined) copyFileSync(f.source, dest);
    else writeFileSync(dest, f.content ?? "");
    chmodSync(dest, f.mode ?? 0o755);
  }
  for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
    const dest = join(rootfs, path);
    mkdirSync(dirname(dest), { recursive: true });
    symlinkSync(target, dest);
  }
  // A reproducible layer: fixed owner, order and times, so the same files give the same digest.
  const layer = join(work, "layer.tar");
  await run("tar", [
    "--create",
    "--file",
    layer,
    "--directory",
    rootfs,
    "--sort=name",
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "--mtime=@0",
    ".",
  ]);
  const diffId = `sha256:${sha256(readFileSync(layer))}`;
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: {
      Entrypoint: spec.entrypoint ?? null,
      Cmd: spec.cmd ?? null,
      Env: spec.env ?? ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      User: spec.user ?? "",
      WorkingDir: "/",
    },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "zk-operator rig (e2e/rig/node/images.ts)" }],
  });
  const configName = `${sha256(config)}.json`;
  writeFileSync(join(work, configName), config);
  writeFileSync(
    join(work, "manifest.json"),
    JSON.stringify([{ Config: configName, RepoTags: [ref], Layers: ["layer.tar"] }]),
  );
  const partial = `${archive}.partial`;
  await run("tar", [
    "--create",
    "--file",
    partial,
    "--directory",
    work,
    "manifest.json",
    configName,
    "layer.tar",
  ]);
  await run("mv", [partial, archive]);
  rmSync(work, { recursive: true, force: true });
  return { ref, archive };
}

/** The pod sandbox image: the static pause binary from build-node-tools.sh as its entrypoint. */
export function pauseImage(): Promise<BuiltImage> {
  return buildImage({
    name: "zk-rig/pause",
    files: [{ path: "/pause", source: nodeTool("pause") }],
    entrypoint: ["/pause"],
    user: "65535:65535",
  });
}

/** Busybox's applets the rig's test pods use (a shell, DNS and HTTP clients, network tools). */
const busyboxApplets = [
  "sh",
  "ash",
  "cat",
  "echo",
  "env",
  "hostname",
  "ip",
  "ls",
  "mkdir",
  "nc",
  "nslookup",
  "ps",
  "sleep",
  "test",
  "true",
  "false",
  "wget",
  "httpd",
  "ifconfig",
  "ping",
];

/** A minimal shell image: Debian's static busybox with its common applets. */
export function busyboxImage(): Promise<BuiltImage> {
  return buildImage({
    name: "zk-rig/busybox",
    files: [{ path: "/bin/busybox", source: nodeTool("busybox") }],
    symlinks: Object.fromEntries(busyboxApplets.map((a) => [`/bin/${a}`, "busybox"])),
    dirs: ["/tmp", "/etc", "/var/www", "/root"],
    cmd: ["sh"],
  });
}

/** Imports a built image into containerd's `k8s.io` namespace (the one the CRI plugin uses). */
export async function importImage(containerdAddress: string, image: BuiltImage): Promise<void> {
  // The tag is the content hash: an image containerd already has under it is the same image.
  const { stdout } = await run("ctr", [
    "--address",
    containerdAddress,
    "--namespace",
    "k8s.io",
    "images",
    "list",
    "--quiet",
  ]);
  if (stdout.split("\n").includes(image.ref)) return;
  try {
    await run(
      "ctr",
      ["--address", containerdAddress, "--namespace", "k8s.io", "images", "import", image.archive],
      {
        timeout: 120_000,
      },
    );
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ctr images import ${image.archive}: ${stderr || (err as Error).message}`, {
      cause: err,
    });
  }
}
