#!/usr/bin/env python3
"""Syncs tables with the python-ovs IDL (Debian's python3-openvswitch) and exits.

    idl_sync.py REMOTE SCHEMA_FILE TABLE[,TABLE...]

Registers the tables with a SchemaHelper, runs the Idl until the reply to its monitor
request has been applied (state MONITORING and change_seqno moved past its initial value),
then prints the rows per table and the time from the Idl's creation to that point.
"""

import sys
import time

import ovs.db.idl
import ovs.poller


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    remote, schema_file, tables = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    start = time.monotonic()
    helper = ovs.db.idl.SchemaHelper(location=schema_file)
    for table in tables:
        helper.register_table(table)
    idl = ovs.db.idl.Idl(remote, helper)
    initial = idl.change_seqno
    while True:
        idl.run()
        if idl.state == idl.IDL_S_MONITORING and idl.change_seqno != initial:
            break
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.block()
    elapsed = time.monotonic() - start
    for table in sorted(tables):
        print("%s %d" % (table, len(idl.tables[table].rows)))
    print("sync: %.3f s" % elapsed)
    sys.stdout.flush()
    idl.close()


if __name__ == "__main__":
    main()
