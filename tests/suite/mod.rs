mod cli;
mod samples;
mod snapshots;
mod stats_reference;
