#!/usr/bin/env python3
# encoding: utf-8
#
# tests/seed/server_tornado.py with the fewest changes that let it run here
# as a benchmark reference (each change is marked "bench:"):
# - files go to a local directory instead of Alibaba OSS (put_object is an
#   open/write of the same bytes; the metadata call has nothing to do);
# - no config module and no bson package: the directory and port come from
#   the command line, and the ObjectId is the same 24 hex digits shape;
# - the body limits are raised from Tornado's 100 MB to 1.5 GiB so the
#   1 GiB upload is accepted; the whole body is still buffered in memory,
#   as in the seed;
# - logging at WARNING, as mfud runs with --quiet.

import os
# bench: import oss2
import json
import random
# bench: import config
import logging
import sys
import time
import tornado.httpserver
import tornado.ioloop
import tornado.web
# bench: from bson import ObjectId

STORE_DIR = '.'


def ObjectId():  # bench: 4-byte seconds and 8 random bytes, in hex
    return '%08x%s' % (int(time.time()), os.urandom(8).hex())


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class ItemExplainHandler(tornado.web.RequestHandler):
    UPLOAD_FILE_TYPE = ('text', 'images', 'audios', 'videos')

    def post(self):
        logging.info("get req.")
        explain = {
            'text': '',
            'images': [],
            'audios': [],
            'videos': [],
        }
        # bench: no oss2.Auth / oss2.Bucket
        tmp_object_id = str(ObjectId())
        tmp_object_id = os.path.join(tmp_object_id[:2], tmp_object_id[2:4], tmp_object_id)
        for file_type, file_list in self.request.files.items():
            assert file_type in self.UPLOAD_FILE_TYPE
            if file_type == self.UPLOAD_FILE_TYPE[0]:
                explain['text'] = str(file_list[0]["body"], encoding='utf-8')
            else:
                for idx, http_file in enumerate(file_list):
                    content_type = http_file['content_type']
                    duration, filename = http_file['filename'].split('_', 1)
                    duration = int(duration)
                    suffix = filename.split('.')[-1]
                    random_num = random.randint(0, 100000000)
                    oss_file_path = 'item_explain/{}-{}-{}-{}.{}'.format(tmp_object_id, random_num, file_type, idx, suffix)
                    oss_file_url = "file://{}/{}".format(STORE_DIR, oss_file_path)
                    # bench: bucket.put_object(oss_file_path, http_file['body'])
                    path = os.path.join(STORE_DIR, oss_file_path)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, 'wb') as f:
                        f.write(http_file['body'])
                    # bench: bucket.update_object_meta(...) sets Content-Type
                    explain[file_type].append({'duration': duration, 'url': oss_file_url})
                    logging.info("{} {} done.".format(file_type, idx + 1))
        logging.info("explain: {}".format(explain))
        self.write("complete.")


def make_app():
    return tornado.web.Application([
        (r"/", MainHandler),
        (r"/item_explain", ItemExplainHandler),
    ])


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING,  # bench: was INFO
        format='%(asctime)s %(process)d [line:%(lineno)4s] %(levelname)s %(message)s',
        datefmt='%Y%m%d %H:%M:%S',
        # filename='/tmp/tornado.log',
        # filemode='a',
    )
    port, STORE_DIR = int(sys.argv[1]), sys.argv[2]  # bench: was 8888
    app = make_app()
    # bench: app.listen(8888) with the body limits raised
    limit = 3 << 29
    server = tornado.httpserver.HTTPServer(app, max_buffer_size=limit,
                                          max_body_size=limit)
    server.listen(port, address='127.0.0.1')
    logging.info("start.")
    tornado.ioloop.IOLoop.current().start()
