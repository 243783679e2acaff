// sync.go: Go's side of the synchronization benchmarks B-4 to B-8 (issue
// 13): the same workloads as bench/bench-sync.cc, on Go's channels,
// select, sync.Mutex and sync.Cond, for bench/sync.sh to print beside
// coop's and Boost.Fiber's.
//
//	GOMAXPROCS=1 sync-go [-reps N] [-quick]
//
// Prints one line per figure and repetition, "raw KEY go VALUE", the keys
// and units of bench-sync.cc (which see for what each workload does).
// bench/sync.sh builds it with the Go of Debian (golang-go) into the build
// directory, offline, and runs it with GOMAXPROCS=1 (set here too when the
// environment does not say): one thread runs the goroutines, as one thread
// runs coop's tasks and Boost's fibers.  Each workload is timed from
// inside, from the first goroutine's start to the last one's end.
//
// Where Go differs:
//   - sw: runtime.Gosched, which puts the goroutine on the global run
//     queue; a channel wake-up puts the woken one in the P's runnext slot.
//   - b7: sync.Mutex does not hand over (an unlock wakes a waiter, which
//     must then win the mutex; after 1 ms of waiting it switches to
//     starvation mode, which does), so b7.lean's hand-off share is low,
//     as for Boost.Fiber.
//   - b8.sem: Go has no semaphore in its standard library; the row is a
//     buffered channel of struct{} of capacity 1 (send to acquire,
//     receive to release), the usual idiom.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	nSwitch  = 2000000
	nRT      = 1000000
	nMsgs    = 4000000
	nSelect  = 2 << 20
	nWoken   = 1000000
	nLock    = 10000000
	nHandoff = 2000000
	nAlt     = 500000
	nCV      = 1000000
)

type elem64 [8]uint64

var sink uint64

// window: from the first goroutine's start to the last one's end (one
// thread runs them all: no atomics needed, as in the C++ program).
type window struct {
	t0, t1 time.Time
	set    bool
}

func (w *window) start() {
	if !w.set {
		w.t0 = time.Now()
		w.set = true
	}
}

func (w *window) stop() { w.t1 = time.Now() }

func (w *window) ns() float64 { return float64(w.t1.Sub(w.t0).Nanoseconds()) }

// run starts n goroutines running fn(i) and waits for them all.
func run(n int, fn func(i int, w *window)) *window {
	var wg sync.WaitGroup
	w := &window{}
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer wg.Done()
			fn(i, w)
		}(i)
	}
	wg.Wait()
	return w
}

// two: the second goroutine in another loop (sw.2fn).
func goSwitch(two bool) float64 {
	w := run(2, func(who int, w *window) {
		w.start()
		if two && who == 1 {
			for i := nSwitch; i > 0; i-- {
				runtime.Gosched()
			}
		} else {
			for i := 0; i < nSwitch; i++ {
				runtime.Gosched()
			}
		}
		w.stop()
	})
	return w.ns() / float64(2*nSwitch)
}

// b4.sym: both goroutines in one loop, send then receive.
func goB4Sym() float64 {
	ping, pong := make(chan uint64), make(chan uint64)
	w := run(2, func(who int, w *window) {
		out, in := ping, pong
		if who == 1 {
			out, in = pong, ping
		}
		var v uint64
		w.start()
		if who == 1 {
			v = <-in
		}
		for i := 0; i < nRT; i++ {
			out <- v
			if who == 1 && i == nRT-1 {
				break
			}
			v = <-in + 1
		}
		sink += v
		w.stop()
	})
	return w.ns() / float64(nRT)
}

func goB4() float64 {
	ping, pong := make(chan uint64), make(chan uint64)
	w := run(2, func(who int, w *window) {
		var v uint64
		w.start()
		for i := 0; i < nRT; i++ {
			if who == 0 {
				ping <- uint64(i)
				v = <-pong
			} else {
				v = <-ping
				pong <- v + 1
			}
		}
		sink += v
		w.stop()
	})
	return w.ns() / float64(nRT)
}

func goB5u64(tasks int) float64 {
	ch := make(chan uint64, 1024)
	per := nMsgs / tasks
	w := run(2*tasks, func(who int, w *window) {
		var sum uint64
		w.start()
		if who < tasks {
			for i := 0; i < per; i++ {
				ch <- uint64(i)
			}
		} else {
			for i := 0; i < per; i++ {
				sum += <-ch
			}
		}
		sink += sum
		w.stop()
	})
	return float64(per*tasks) / w.ns() * 1e3
}

func goB5e64(tasks int) float64 {
	ch := make(chan elem64, 1024)
	per := nMsgs / tasks
	w := run(2*tasks, func(who int, w *window) {
		var sum uint64
		var e elem64
		w.start()
		if who < tasks {
			for i := 0; i < per; i++ {
				e[0] = uint64(i)
				ch <- e
			}
		} else {
			for i := 0; i < per; i++ {
				e = <-ch
				sum += e[0]
			}
		}
		sink += sum
		w.stop()
	})
	return float64(per*tasks) / w.ns() * 1e3
}

var bad int

func goB6Ready() float64 {
	c0, c1, c2 := make(chan uint64), make(chan uint64), make(chan uint64)
	c3 := make(chan uint64, 1024)
	var sum time.Duration
	batches := (nSelect + 1023) / 1024
	run(1, func(_ int, _ *window) {
		var v uint64
		for b := 0; b < batches; b++ {
			for k := 0; k < 1024; k++ {
				c3 <- uint64(k)
			}
			t0 := time.Now()
			for k := 0; k < 1024; k++ {
				select {
				case v = <-c0:
					bad++
				case v = <-c1:
					bad++
				case v = <-c2:
					bad++
				case v = <-c3:
				}
			}
			sum += time.Since(t0)
		}
		sink += v
	})
	return float64(sum.Nanoseconds()) / float64(batches*1024)
}

func goB6Woken() float64 {
	var c [4]chan uint64
	for i := range c {
		c[i] = make(chan uint64)
	}
	w := run(2, func(who int, w *window) {
		w.start()
		if who == 0 {
			var v uint64
			for i := 0; i < nWoken; i++ {
				got := -1
				select {
				case v = <-c[0]:
					got = 0
				case v = <-c[1]:
					got = 1
				case v = <-c[2]:
					got = 2
				case v = <-c[3]:
					got = 3
				}
				if got != i%4 {
					bad++
				}
			}
			sink += v
		} else {
			for i := 0; i < nWoken; i++ {
				c[i%4] <- uint64(i)
				runtime.Gosched()
			}
		}
		w.stop()
	})
	return w.ns() / float64(nWoken)
}

// kind 0: alone; 1: lean; 2: alternating (see bench-sync.cc).
func goB7(kind int) (float64, float64) {
	var m sync.Mutex
	last, handoffs := 0, 0
	acquired := func(me int) {
		if last != 0 && last != me {
			handoffs++
		}
		last = me
	}
	n, acq := 1, nLock
	if kind == 1 {
		n, acq = 2, 2*nHandoff
	} else if kind == 2 {
		n, acq = 2, 2*nAlt
	}
	w := run(n, func(who int, w *window) {
		me := who + 1
		w.start()
		switch kind {
		case 0:
			for i := 0; i < nLock; i++ {
				m.Lock()
				m.Unlock()
			}
		case 1:
			for i := 0; i < nHandoff; i++ {
				m.Lock()
				acquired(me)
				if i == 0 {
					runtime.Gosched()
				}
				m.Unlock()
			}
		case 2:
			for i := 0; i < nAlt; i++ {
				m.Lock()
				acquired(me)
				runtime.Gosched()
				m.Unlock()
				runtime.Gosched()
			}
		}
		w.stop()
	})
	return w.ns() / float64(acq), float64(handoffs) / float64(acq-1)
}

func goB8CV() float64 {
	var m sync.Mutex
	cv := sync.NewCond(&m)
	turn := 1
	w := run(2, func(who int, w *window) {
		me := who + 1
		other := 3 - me
		w.start()
		m.Lock()
		for i := 0; i < nCV; i++ {
			for turn != me {
				cv.Wait()
			}
			turn = other
			cv.Signal()
		}
		m.Unlock()
		w.stop()
	})
	return w.ns() / float64(nCV)
}

func goB8Sem() float64 {
	s := make(chan struct{}, 1)
	w := run(1, func(_ int, w *window) {
		w.start()
		for i := 0; i < nLock; i++ {
			s <- struct{}{}
			<-s
		}
		w.stop()
	})
	return w.ns() / float64(nLock)
}

func put(key string, v float64) { fmt.Printf("raw %s go %.4f\n", key, v) }

func main() {
	reps := flag.Int("reps", 1, "repetitions")
	quick := flag.Bool("quick", false, "a tenth of the iterations")
	flag.Parse()
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	if *quick {
		for _, p := range []*int{&nSwitch, &nRT, &nMsgs, &nSelect, &nWoken, &nLock, &nHandoff,
			&nAlt, &nCV} {
			*p /= 10
		}
	}
	fmt.Printf("raw version go %s\n", runtime.Version())
	fmt.Printf("raw gomaxprocs go %d\n", runtime.GOMAXPROCS(0))
	for r := 0; r < *reps; r++ {
		put("sw", goSwitch(false))
		put("sw.2fn", goSwitch(true))
		put("b4.rt", goB4())
		put("b4.sym", goB4Sym())
		put("b5.8.1", goB5u64(1))
		put("b5.8.4", goB5u64(4))
		put("b5.64.1", goB5e64(1))
		put("b5.64.4", goB5e64(4))
		put("b6.ready", goB6Ready())
		put("b6.woken", goB6Woken())
		put("b7.unc", func() float64 { v, _ := goB7(0); return v }())
		v, ho := goB7(1)
		put("b7.lean", v)
		put("b7.lean.ho", ho)
		v, ho = goB7(2)
		put("b7.alt", v)
		put("b7.alt.ho", ho)
		put("b8.cv", goB8CV())
		put("b8.sem", goB8Sem())
	}
	if bad != 0 {
		fmt.Fprintf(os.Stderr, "sync-go: %d selects chose another channel than the one sent on\n", bad)
		os.Exit(1)
	}
}
