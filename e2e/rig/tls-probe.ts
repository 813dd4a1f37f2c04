// What a TLS client gets from a ZooKeeper secure port, for tests of client certificates: whether
// the server keeps serving it or refuses it.
import { connect as tlsConnect } from "node:tls";

export interface TlsProbe {
  host: string;
  port: number;
  /** The name to verify the server's certificate against (SNI too). */
  servername: string;
  /** PEM CA certificates to trust. */
  ca: string | Buffer;
  /** The certificate and key (PEM) to present; none when absent. */
  client?: { cert: string; key: string };
}

/**
 * "served" when the connection is still open half a second after the handshake, else "refused: " and
 * why. With TLS 1.3 the client completes its handshake before the server has judged the client's
 * certificate, so a refusal comes as the alert that follows, not as a failed handshake.
 */
export function clientCertificateOutcome(probe: TlsProbe): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: probe.host,
      port: probe.port,
      servername: probe.servername,
      ca: probe.ca,
      ...(probe.client ? { cert: probe.client.cert, key: probe.client.key } : {}),
    });
    let done = false;
    const finish = (outcome: string): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(outcome);
    };
    socket.setTimeout(5000, () => {
      finish("refused: no handshake in 5 s");
    });
    socket.once("secureConnect", () => {
      setTimeout(() => {
        finish("served");
      }, 500);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => {
      finish(`refused: ${err.code ?? err.message}`);
    });
    socket.once("close", () => {
      finish("refused: closed");
    });
  });
}
