// uploadserver - the reference a Go user would write for the seed's
// upload: net/http, r.MultipartReader() streaming every file part to its
// own file with io.Copy (no fsync), answering 201 with a JSON list of what
// it wrote.  Standard library only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
)

type stored struct {
	Field string `json:"field"`
	Name  string `json:"name"`
	Size  int64  `json:"size"`
}

type server struct {
	dir string
	seq uint64
}

func (s *server) upload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	files := []stored{}
	text := ""
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if p.FormName() == "text" {
			b, err := io.ReadAll(io.LimitReader(p, 1<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			text = string(b)
			continue
		}
		n := atomic.AddUint64(&s.seq, 1)
		path := filepath.Join(s.dir, fmt.Sprintf("%d-%s", n, p.FormName()))
		f, err := os.Create(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		size, err := io.Copy(f, p)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		files = append(files, stored{p.FormName(), p.FileName(), size})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]interface{}{
		"text": text, "files": files})
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8135", "address")
	dir := flag.String("dir", ".", "directory the files go to")
	flag.Parse()
	s := &server{dir: *dir}
	http.HandleFunc("/item_explain", s.upload)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
