module batonlab

go 1.21
