# The configuration errors of http blocks, found before anything runs, each
# marked on the line it points at with its summary and a part of its detail.

http "url_without_scheme" {
  url = "127.0.0.1:8080/" # ERROR: Invalid value for argument "url": is not an absolute URL with scheme http or https; write it whole, such as "http://127.0.0.1:8080/"
  expect { status = 200 }
}

http "status_as_a_string" {
  url = "http://127.0.0.1/"
  expect { status = "200" } # ERROR: Invalid value for expectation "status": status must be a number such as 200
}

http "bad_regex" {
  url = "http://127.0.0.1/"
  expect { body_matches = "(" } # ERROR: Invalid value for expectation "body_matches": invalid regular expression
}

http "unknown_expectation" {
  url = "http://127.0.0.1/"
  expect { status_code = 200 } # ERROR: Unsupported argument: status_code
}

http "bad_body_limit" {
  url        = "http://127.0.0.1/"
  body_limit = -5 # ERROR: Invalid value for argument "body_limit": must be a whole number from 0
  expect { status = 200 }
}
