"""Each recorded call knows where it falls in the script's stdout, causally (real sandbox, real mock)."""


def test_each_call_knows_what_was_printed_before_it_was_sent_and_after_it_was_answered(run_script):
    record = run_script("""
        import boto3, sys
        s3 = boto3.client("s3")
        print("before any call")
        s3.create_bucket(Bucket="ordered")
        sys.stdout.write("between, no newline ")
        s3.list_objects_v2(Bucket="ordered")
        print("after the listing")
    """)
    create, listing = record.calls
    assert record.stdout[: create.stdout_before] == "before any call\n"
    assert create.stdout_after == create.stdout_before
    assert record.stdout[create.stdout_after : listing.stdout_before] == "between, no newline "
    assert record.stdout[listing.stdout_after :] == "after the listing\n"


def test_positions_count_characters_of_the_stored_text_even_after_invalid_utf8(run_script):
    record = run_script("""
        import boto3, os
        os.write(1, b"caf\\xc3\\xa9 \\xff\\xfe done\\n")
        boto3.client("s3").create_bucket(Bucket="bytes")
        print("tail")
    """)
    (create,) = record.calls
    assert record.stdout[: create.stdout_before] == "café \ufffd\ufffd done\n"
    assert record.stdout[create.stdout_after :] == "tail\n"


def test_a_call_after_more_output_than_is_kept_points_at_the_end_of_the_kept_text(run_script):
    record = run_script(
        """
        import boto3
        print("x" * 100_000)
        boto3.client("s3").create_bucket(Bucket="late")
        """,
        output_kib=16,
    )
    (create,) = record.calls
    assert record.stdout_truncated
    assert create.stdout_before == len(record.stdout) == 16 * 1024


def test_positions_never_go_backwards_while_another_thread_keeps_printing(run_script):
    record = run_script("""
        import boto3, threading, time
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="busy")
        s3.put_object(Bucket="busy", Key="k", Body=b"x")
        printed = threading.Event()
        def chatter():
            while not printed.is_set():
                print("tick", flush=True)
                time.sleep(0.001)
        thread = threading.Thread(target=chatter)
        thread.start()
        for _ in range(20):
            s3.list_objects_v2(Bucket="busy")
        printed.set()
        thread.join()
    """)
    positions = [p for c in record.calls for p in (c.stdout_before, c.stdout_after)]
    assert positions == sorted(positions)
    assert positions[-1] > positions[0] and record.stdout.count("tick") > 0
