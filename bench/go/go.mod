module mfu/bench/multipartbench

go 1.19
