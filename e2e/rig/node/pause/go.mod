module zk-rig/pause

go 1.22
