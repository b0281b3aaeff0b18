package main

import (
	"bytes"
	"io"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// replacingStore is gofakes3's in-memory backend with S3's overwrite semantics. s3mem's PutObject merges the new
// object's metadata into the old object's, so a PUT without an x-amz-checksum-* header kept the checksum of the
// object it replaced, and every later GET failed the client's checksum validation ("checksum did not match"). S3
// replaces an object with everything it has: here a PUT reads the new body, checks the request's conditions
// (If-Match, If-None-Match) against the current object, removes it and stores the new one, under a lock that GET
// and HEAD also take, so that no reader sees the key missing in between.
type replacingStore struct {
	*s3mem.Backend
	mu sync.RWMutex
}

func newReplacingStore() *replacingStore { return &replacingStore{Backend: s3mem.New()} }

func (s *replacingStore) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	body, err := gofakes3.ReadAll(input, size)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current, err := s.Backend.HeadObject(bucket, key)
	if err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
		return gofakes3.PutObjectResult{}, err
	}
	if conditions != nil {
		info := &gofakes3.ConditionalObjectInfo{Exists: current != nil}
		if current != nil {
			info.Hash = current.Hash
		}
		if err := gofakes3.CheckPutConditions(conditions, info); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	if current != nil {
		if _, err := s.Backend.DeleteObject(bucket, key); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	return s.Backend.PutObject(bucket, key, meta, bytes.NewReader(body), int64(len(body)), nil)
}

func (s *replacingStore) GetObject(bucket, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Backend.GetObject(bucket, key, rangeRequest)
}

func (s *replacingStore) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.Backend.HeadObject(bucket, key)
}
