module mfu/bench/uploadserver

go 1.19
