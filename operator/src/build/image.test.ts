import { expect, test } from "vitest";
import { imageVersion } from "./image.ts";

test.each([
  ["docker.io/library/zookeeper:3.9.4", "3.9.4"],
  ["zookeeper:3.8", "3.8"],
  ["zookeeper", "latest"],
  ["registry.local:5000/zk/zookeeper:3.9.4-jre17", "3.9.4-jre17"],
  ["registry.local:5000/zookeeper", "latest"],
  ["zookeeper:3.9.4@sha256:0123456789abcdef0123456789abcdef", "3.9.4"],
  ["zookeeper@sha256:0123456789abcdef0123456789abcdef", "sha256:0123456789ab"],
])("imageVersion(%s) = %s", (image, version) => {
  expect(imageVersion(image)).toBe(version);
});
