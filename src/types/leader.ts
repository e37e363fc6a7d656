/** Who leads, as the lease backend says: what a member follows and an operator is shown. */
export interface LeaderInfo {
  /** The holder's `--instance-id`. */
  holder: string;
  /** The holder's fencing epoch. */
  epoch: bigint;
  /** The API URL the holder advertised with its lease (`--advertise-url`), where members sync from; null if it advertised none. */
  apiUrl: string | null;
}
