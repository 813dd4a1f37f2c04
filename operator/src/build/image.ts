// The version shown in status and `kubectl get zk`: the tag of the running image.

/** The tag of an image reference ("zookeeper:3.9.4" → "3.9.4"), the digest when pinned by digest, "latest" without either. */
export function imageVersion(image: string): string {
  const at = image.indexOf("@");
  if (at >= 0) {
    const digest = image.slice(at + 1);
    const tagged = imageVersion(image.slice(0, at));
    return tagged === "latest" ? digest.slice(0, 19) : tagged;
  }
  const lastSlash = image.lastIndexOf("/");
  const colon = image.indexOf(":", lastSlash + 1);
  return colon >= 0 ? image.slice(colon + 1) : "latest";
}
